using System.Diagnostics;
using EfficientNet.MLNet.Native;
using System.Globalization;
using System.Text.Json;
using TorchSharp;

namespace EfficientNet.MLNet;

/// <summary>
/// Makes sure libtorch's float32 CPU kernels are right on this CPU before the process's first convolution. On an AMD
/// EPYC of the Zen 5 generation libtorch 2.10's oneDNN convolutions were seen off by 25 to 47% at some shapes, silently;
/// capping oneDNN at AVX2 made them right. Every model this library builds calls <see cref="Check"/> first; it runs once
/// per process and:
/// <list type="number">
/// <item>takes the configuration forced by <see cref="Choice"/> (or <see cref="ChoiceVariable"/>) or by oneDNN/ATen/MKL
/// variables the user set before the process started; else the verdict remembered for this CPU and libtorch from an
/// earlier check (in the cache folder); else finds one: it runs <see cref="KernelProbe"/> in a child process under each
/// configuration in turn (libtorch's own, oneDNN at AVX2, everything at AVX2) and takes the first that is right;</item>
/// <item>applies it (oneDNN reads its cap once, at the first convolution, which is why the trying happens in children);</item>
/// <item>checks this process too (its operations, 0.5 to 0.9 s on 2 cores; the child also checks a whole b0) and reports what it found in <see cref="Report"/>, which
/// Fit's log and the command-line tool print.</item>
/// </list>
/// When no configuration is right, or this process turns out wrong after it could no longer switch, it throws a
/// <see cref="CpuKernelException"/> that names the CPU and what to do, rather than train or score wrong.
/// </summary>
public static class CpuKernels
{
    /// <summary>The environment variable that forces a choice: auto, libtorch, avx2 or avx2-everywhere.</summary>
    public const string ChoiceVariable = "EFFICIENTNET_CPU_KERNELS";

    static readonly object Gate = new();
    static CpuKernelChoice? choice;
    static CpuKernelReport? report;
    static CpuKernelException? refusal;
    [ThreadStatic] static bool checking;

    /// <summary>
    /// The choice for this process: by default <see cref="ChoiceVariable"/>'s, else <see cref="CpuKernelChoice.Auto"/>.
    /// Set it before the first model is built; once the check ran, another value is refused.
    /// </summary>
    public static CpuKernelChoice Choice
    {
        get => choice ?? FromVariable();
        set
        {
            lock (Gate)
            {
                if ((report is not null || refusal is not null) && value != Choice)
                    throw new InvalidOperationException($"The CPU kernels were chosen already ({report?.Configuration ?? "refused"}): set CpuKernels.Choice before the first model is built.");
                choice = value;
            }
        }
    }

    /// <summary>The check's result, or null before it ran.</summary>
    public static CpuKernelReport? Report => report;

    /// <summary>Runs the check once per process (later calls return the first result, or throw its refusal again).</summary>
    /// <exception cref="CpuKernelException">No configuration is right on this CPU.</exception>
    public static CpuKernelReport Check()
    {
        if (report is { } done)
            return done;
        lock (Gate)
        {
            if (refusal is not null)
                throw refusal;
            if (report is not null)
                return report;
            checking = true;
            try
            {
                return report = Decide();
            }
            catch (CpuKernelException e)
            {
                refusal = e;
                throw;
            }
            finally
            {
                checking = false;
            }
        }
    }

    /// <summary>Called where a model is built: runs the check unless this thread is probing (the probe builds a model).</summary>
    internal static void EnsureChecked()
    {
        if (report is null && !checking)
            Check();
    }

    /// <summary>Marks this thread as probing until disposed, so that the models the probe builds do not start a check.</summary>
    internal static IDisposable Probing()
    {
        var was = checking;
        checking = true;
        return new Restore(() => checking = was);
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    static CpuKernelReport Decide()
    {
        var watch = Stopwatch.StartNew();
        TorchSharpSetup.Initialize();
        var cpu = CpuDescription.Current;
        var preset = KernelConfiguration.KnownVariables.Where(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)))
            .Select(v => $"{v}={Environment.GetEnvironmentVariable(v)}").ToList();
        var wanted = Choice;
        if (wanted != CpuKernelChoice.Auto)
        {
            var forced = Forced(wanted);
            forced.Apply();
            return Verify(cpu, forced.Name, forced.VariablesText, $"chosen by {ChoiceVariable} or CpuKernels.Choice", [], null, watch, refuse: false, wholeNetwork: true);
        }
        if (preset.Count > 0)
            return Verify(cpu, "environment", string.Join(" ", preset), "set in the environment before the process started", [], null, watch, refuse: true, wholeNetwork: true);

        var verdictFile = VerdictFile(cpu);
        if (Verdict.Read(verdictFile) is { } remembered && KernelConfiguration.Named(remembered.Configuration) is { } known)
        {
            known.Apply();
            try
            {
                return Verify(cpu, known.Name, known.VariablesText, $"remembered from the check of {remembered.Checked} ({verdictFile})",
                    remembered.RejectedList, remembered.OneDnnIsa, watch, refuse: true, wholeNetwork: false);
            }
            catch (CpuKernelException)
            {
                Verdict.Forget(verdictFile); // the next process checks again
                throw;
            }
        }

        var rejected = new List<(string, IReadOnlyList<string>)>();
        foreach (var candidate in KernelConfiguration.Ladder)
        {
            var child = KernelCheckChild.Run(candidate, out var whyNot);
            if (child is null)
                return WithoutChild(cpu, whyNot!, watch);
            var wrong = WrongText(child.Findings);
            if (wrong.Count > 0)
            {
                rejected.Add((candidate.Name, wrong));
                continue;
            }
            candidate.Apply();
            var verified = Verify(cpu, candidate.Name, candidate.VariablesText, "checked in a child process", rejected, child.OneDnnIsa, watch, refuse: true, wholeNetwork: false);
            new Verdict(candidate.Name, Now(),
                rejected.Select(r => new RejectedConfiguration(r.Item1, r.Item2.ToArray())).ToArray(), child.OneDnnIsa).Write(verdictFile);
            return verified;
        }
        throw new CpuKernelException($"libtorch's float32 kernels are wrong on this CPU, {cpu}, in every configuration tried: " +
            string.Join("; ", rejected.Select(r => $"{r.Item1}: {string.Join(", ", r.Item2.Take(3))}")) +
            $". Training or scoring with them would give wrong numbers. Score with ScoringEngine.OnnxRuntime (ONNX Runtime has kernels of its own), " +
            $"train on another machine type, or set {ChoiceVariable}=libtorch to go on anyway.");
    }

    /// <summary>
    /// No child process here: check this process under libtorch's own kernels (or the first configuration not yet
    /// found wrong on this CPU); when wrong, remember it so that the next process starts with the next configuration.
    /// </summary>
    static CpuKernelReport WithoutChild(CpuDescription cpu, string whyNot, Stopwatch watch)
    {
        var verdictFile = VerdictFile(cpu);
        var earlier = Verdict.Read(verdictFile)?.Rejected ?? [];
        var candidate = KernelConfiguration.Ladder.FirstOrDefault(c => earlier.All(r => r.Configuration != c.Name));
        if (candidate is null)
            throw new CpuKernelException($"libtorch's float32 kernels are wrong on this CPU, {cpu}, in every configuration ({verdictFile}). " +
                $"Score with ScoringEngine.OnnxRuntime, train on another machine type, or set {ChoiceVariable}=libtorch to go on anyway.");
        candidate.Apply();
        try
        {
            return Verify(cpu, candidate.Name, candidate.VariablesText, $"checked in this process (no child process: {whyNot})",
                earlier.Select(r => (r.Configuration, (IReadOnlyList<string>)r.Wrong)).ToList(), null, watch, refuse: true, wholeNetwork: true);
        }
        catch (CpuKernelException e)
        {
            new Verdict("", Now(),
                earlier.Append(new RejectedConfiguration(candidate.Name, [e.Message])).ToArray(), null).Write(verdictFile);
            throw new CpuKernelException(e.Message + $" This process cannot switch kernels any more; start it again: the next process uses the next configuration.");
        }
    }

    static CpuKernelReport Verify(CpuDescription cpu, string configuration, string variables, string decision,
        IEnumerable<(string, IReadOnlyList<string>)> rejected, string? isa, Stopwatch watch, bool refuse, bool wholeNetwork)
    {
        // Confirming what a child checked whole needs the operations only (did the configuration take effect here?).
        var findings = KernelProbe.Run(configuration, wholeNetwork);
        var wrong = WrongText(findings);
        var result = new CpuKernelReport(cpu, configuration, variables, decision, rejected.ToList(), findings.Count, wrong,
            findings.Max(f => double.IsNaN(f.RelativeError) ? double.PositiveInfinity : f.RelativeError), isa, watch.Elapsed);
        if (refuse && !result.Right)
            throw new CpuKernelException($"libtorch's float32 kernels are wrong on this CPU, {cpu}, with {variables} ({decision}): " +
                $"{string.Join("; ", wrong.Take(5))}. Set {ChoiceVariable} to another of libtorch, avx2, avx2-everywhere before the process starts, " +
                "or score with ScoringEngine.OnnxRuntime.");
        return result;
    }

    static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    static List<string> WrongText(IEnumerable<KernelProbe.Finding> findings) => findings.Where(f => f.Wrong)
        .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Operation} off by {f.RelativeError:0.0e0}")).ToList();

    static KernelConfiguration Forced(CpuKernelChoice wanted) => wanted switch
    {
        CpuKernelChoice.LibTorch => KernelConfiguration.LibTorch,
        CpuKernelChoice.Avx2 => KernelConfiguration.Avx2,
        CpuKernelChoice.Avx2Everywhere => KernelConfiguration.Avx2Everywhere,
        _ => throw new ArgumentOutOfRangeException(nameof(wanted), wanted, null),
    };

    static CpuKernelChoice FromVariable()
    {
        var text = Environment.GetEnvironmentVariable(ChoiceVariable);
        if (string.IsNullOrWhiteSpace(text) || text.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return CpuKernelChoice.Auto;
        return KernelConfiguration.Named(text.Trim())?.Name switch
        {
            "libtorch" => CpuKernelChoice.LibTorch,
            "avx2" => CpuKernelChoice.Avx2,
            "avx2-everywhere" => CpuKernelChoice.Avx2Everywhere,
            _ => throw new CpuKernelException($"{ChoiceVariable}='{text}' is not a choice: use auto, libtorch, avx2 or avx2-everywhere."),
        };
    }

    /// <summary>Where the verdict for this CPU and this libtorch is remembered.</summary>
    internal static string VerdictFile(CpuDescription cpu) =>
        Path.Combine(CacheFolder.Root, "cpu-kernels", $"{cpu.Signature}-torchsharp-{typeof(torch).Assembly.GetName().Version}-check{VerdictVersion}.json");

    // Bumped when the probe changes, so that verdicts of an older probe are not trusted.
    const int VerdictVersion = 2;

    sealed record RejectedConfiguration(string Configuration, string[] Wrong);

    sealed record Verdict(string Configuration, string Checked, RejectedConfiguration[] Rejected, string? OneDnnIsa)
    {
        public static Verdict? Read(string path)
        {
            try
            {
                return File.Exists(path) ? JsonSerializer.Deserialize<Verdict>(File.ReadAllText(path)) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                return null; // unreadable: check again
            }
        }

        [System.Text.Json.Serialization.JsonIgnore]
        public IEnumerable<(string, IReadOnlyList<string>)> RejectedList => Rejected.Select(r => (r.Configuration, (IReadOnlyList<string>)r.Wrong));

        public static void Forget(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only cache: the refusal that follows says what to do all the same.
            }
        }

        public void Write(string path)
        {
            try
            {
                AtomicFile.Write(path, temporary => File.WriteAllText(temporary, JsonSerializer.Serialize(this)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only cache only means the next process checks again.
            }
        }
    }
}

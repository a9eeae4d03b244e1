using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// Runs <see cref="KernelProbe"/> under one kernel configuration in a child process, because oneDNN reads its ISA cap
/// once, at the process's first convolution: a process that tried libtorch's own kernels can no longer switch. The
/// child is this same application started again with the same command line and this library as a .NET startup hook
/// (<c>DOTNET_STARTUP_HOOKS</c>); the hook (<see cref="StartupHook"/>) runs the probe and exits before the application's
/// own Main starts, so the child loads exactly the assemblies and native libraries this process loads.
/// </summary>
internal static class KernelCheckChild
{
    /// <summary>Set in the child's environment to the configuration's name; the hook does nothing without it.</summary>
    public const string ChildVariable = "EFFICIENTNET_KERNEL_CHECK_CHILD";

    /// <summary>Folders the hook resolves assemblies from, for hosts whose dependency list lacks them (notebooks).</summary>
    public const string AssemblyFoldersVariable = "EFFICIENTNET_KERNEL_CHECK_ASSEMBLIES";

    const string FindingLine = "efficientnet-kernel-check: ";
    const string DoneLine = "efficientnet-kernel-check-done";
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The child's findings and the instruction set oneDNN reported there.</summary>
    public sealed record Result(IReadOnlyList<KernelProbe.Finding> Findings, string? OneDnnIsa);

    /// <summary>Why no child can be started here, or null when one can.</summary>
    public static string? WhyUnavailable()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ChildVariable)))
            return "this is a checking process itself";
        if (AppContext.TryGetSwitch("System.StartupHookProvider.IsSupported", out var hooks) && !hooks)
            return "startup hooks are turned off in this application";
        if (string.IsNullOrEmpty(typeof(KernelCheckChild).Assembly.Location))
            return "the library is not a file of its own (a single-file application)";
        if (CommandLine() is null)
            return "this process's command line cannot be read";
        return null;
    }

    /// <summary>Runs the probe under <paramref name="configuration"/> in a child; null (with the reason) when it could not run.</summary>
    public static Result? Run(KernelConfiguration configuration, out string? failure)
    {
        failure = WhyUnavailable();
        if (failure is not null)
            return null;
        var (program, arguments) = CommandLine()!.Value;
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var variable in KernelConfiguration.KnownVariables)
            start.Environment.Remove(variable);
        foreach (var (name, value) in configuration.Variables)
            start.Environment[name] = value;
        var hook = typeof(KernelCheckChild).Assembly.Location;
        var existing = Environment.GetEnvironmentVariable("DOTNET_STARTUP_HOOKS");
        start.Environment["DOTNET_STARTUP_HOOKS"] = string.IsNullOrEmpty(existing) ? hook : hook + Path.PathSeparator + existing;
        start.Environment[ChildVariable] = configuration.Name;
        start.Environment[AssemblyFoldersVariable] = string.Join(Path.PathSeparator,
            new[] { hook, typeof(TorchSharp.torch).Assembly.Location }.Select(Path.GetDirectoryName).Distinct());
        start.Environment["ONEDNN_VERBOSE"] = "1"; // its first line names the instruction set it chose

        using var child = Process.Start(start);
        if (child is null)
        {
            failure = $"{program} did not start";
            return null;
        }
        child.StandardInput.Close();
        var error = child.StandardError.ReadToEndAsync();
        var findings = new List<KernelProbe.Finding>();
        string? isa = null;
        var done = false;
        var reading = Task.Run(() =>
        {
            while (child.StandardOutput.ReadLine() is { } line)
            {
                if (line.StartsWith(FindingLine, StringComparison.Ordinal) && ParseFinding(line[FindingLine.Length..]) is { } finding)
                    findings.Add(finding);
                else if (line == DoneLine)
                    done = true;
                else if (isa is null && line.Contains(",cpu,isa:", StringComparison.Ordinal))
                    isa = line[(line.IndexOf(",cpu,isa:", StringComparison.Ordinal) + ",cpu,isa:".Length)..].TrimEnd(',');
            }
        });
        if (!child.WaitForExit(Timeout))
        {
            child.Kill(entireProcessTree: true);
            failure = $"the checking process did not finish in {Timeout.TotalMinutes} minutes";
            return null;
        }
        reading.Wait(Timeout);
        if (!done || findings.Count == 0)
        {
            var tail = string.Join(" ", (error.Result ?? "").Split('\n').Where(l => l.Trim().Length > 0).TakeLast(3));
            failure = $"the checking process exited with code {child.ExitCode} without a result{(tail.Length > 0 ? $" ({tail})" : "")}";
            return null;
        }
        return new Result(findings, isa);
    }

    /// <summary>Called by the startup hook in the child: runs the probe, prints the findings, and ends the process.</summary>
    public static void RunInChild(string configurationName)
    {
        try
        {
            TorchSharpSetup.Initialize();
            foreach (var finding in KernelProbe.Run(configurationName, wholeNetwork: true))
                Console.Out.WriteLine(FindingLine + string.Create(CultureInfo.InvariantCulture, $"{finding.RelativeError:R} {finding.Tolerance:R} {finding.Operation}"));
            Console.Out.WriteLine(DoneLine);
            Console.Out.Flush();
            Environment.Exit(0);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"The CPU kernel check failed: {e}");
            Environment.Exit(3);
        }
    }

    static KernelProbe.Finding? ParseFinding(string text)
    {
        var parts = text.Split(' ', 3);
        return parts.Length == 3
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var error)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var tolerance)
            ? new KernelProbe.Finding(parts[2], error, tolerance) : null;
    }

    /// <summary>
    /// The program and arguments that started this process. On Linux /proc/self/cmdline has them exactly (including the
    /// host's own options, such as <c>dotnet exec --runtimeconfig ...</c>); elsewhere the process path and .NET's arguments.
    /// </summary>
    static (string Program, string[] Arguments)? CommandLine()
    {
        var program = Environment.ProcessPath;
        if (string.IsNullOrEmpty(program))
            return null;
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            try
            {
                var arguments = File.ReadAllText("/proc/self/cmdline").Split('\0');
                var count = arguments.Length > 0 && arguments[^1].Length == 0 ? arguments.Length - 1 : arguments.Length;
                return count < 1 ? null : (program, arguments[1..count]);
            }
            catch (IOException)
            {
                return null;
            }
        }
        var managed = Environment.GetCommandLineArgs();
        var apphost = string.Equals(Path.GetFileNameWithoutExtension(program), Assembly.GetEntryAssembly()?.GetName().Name, StringComparison.OrdinalIgnoreCase);
        return apphost ? (program, managed[1..]) : (program, managed);
    }
}

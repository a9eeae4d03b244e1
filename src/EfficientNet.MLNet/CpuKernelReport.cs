using System.Globalization;
using EfficientNet.MLNet.Native;

namespace EfficientNet.MLNet;

/// <summary>
/// What the CPU kernel check found and chose, once per process (see <see cref="CpuKernels"/>): the processor, the kernel
/// configuration in use and how it was chosen, the configurations turned down and why, and this process's own
/// comparison of float32 against float64.
/// </summary>
/// <param name="Cpu">The processor.</param>
/// <param name="Configuration">The configuration in use: "libtorch", "avx2", "avx2-everywhere", or "environment" when the user set the variables.</param>
/// <param name="Variables">The environment variables that configuration sets ("nothing set" for libtorch's own kernels).</param>
/// <param name="Decision">How it was chosen: checked in a child process, remembered from an earlier check on this machine, forced, ...</param>
/// <param name="Rejected">Configurations found wrong here, each with its worst results ("operation: relative error").</param>
/// <param name="Comparisons">How many float32 results this process compared with float64.</param>
/// <param name="Wrong">This process's float32 results that float32 rounding does not explain (empty when right).</param>
/// <param name="LargestRelativeError">The largest relative error of this process's comparisons.</param>
/// <param name="OneDnnIsa">The instruction set oneDNN reported in the checking child process, when one ran.</param>
/// <param name="Duration">Time the check took in this process, child processes included.</param>
public sealed record CpuKernelReport(
    CpuDescription Cpu, string Configuration, string Variables, string Decision,
    IReadOnlyList<(string Configuration, IReadOnlyList<string> Wrong)> Rejected,
    int Comparisons, IReadOnlyList<string> Wrong, double LargestRelativeError, string? OneDnnIsa, TimeSpan Duration)
{
    /// <summary>Whether this process's float32 kernels agree with float64.</summary>
    public bool Right => Wrong.Count == 0;

    /// <summary>Whether libtorch's own kernels were turned down for this CPU.</summary>
    public bool FellBack => Rejected.Count > 0;

    /// <summary>One paragraph for a log: the CPU, what was wrong, what is in use, and the result.</summary>
    public string Summary
    {
        get
        {
            var rejected = string.Concat(Rejected.Select(r =>
                $" {Describe(r.Configuration)} were wrong here ({string.Join("; ", r.Wrong.Take(3))}{(r.Wrong.Count > 3 ? $"; {r.Wrong.Count - 3} more" : "")});"));
            var isa = OneDnnIsa is null ? "" : $"; oneDNN: {OneDnnIsa}";
            var result = Right
                ? string.Create(CultureInfo.InvariantCulture, $"right (largest relative error {LargestRelativeError:0.0e0})")
                : $"WRONG ({string.Join("; ", Wrong.Take(3))})";
            return string.Create(CultureInfo.InvariantCulture,
                $"CPU kernels on {Cpu}:{rejected} using {Describe(Configuration)} ({Variables}{isa}), {Decision}; float32 against float64 on {Comparisons} results: {result}; {Duration.TotalSeconds:0.00} s.");
        }
    }

    static string Describe(string configuration) =>
        KernelConfiguration.Named(configuration)?.Description ?? (configuration == "environment" ? "the kernels the environment chose" : configuration);
}

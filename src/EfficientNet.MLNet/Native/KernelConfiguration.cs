using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// A set of environment variables that makes libtorch choose other float32 CPU kernels, in the order the kernel
/// check tries them: libtorch's own choice; oneDNN (its convolutions) capped at AVX2; oneDNN, ATen's vectorized
/// kernels and MKL all capped at AVX2. Each library reads its variable once, at its first kernel, so a configuration
/// is applied before the process's first convolution (see <see cref="CpuKernels"/>).
/// </summary>
internal sealed record KernelConfiguration(string Name, string Description, IReadOnlyDictionary<string, string> Variables)
{
    /// <summary>libtorch's own choice: nothing set.</summary>
    public static readonly KernelConfiguration LibTorch = new("libtorch", "libtorch's own kernels", new Dictionary<string, string>());

    /// <summary>oneDNN capped at AVX2 (right on the AMD EPYC Zen 5 where its AVX-512 convolutions were wrong).</summary>
    public static readonly KernelConfiguration Avx2 = new("avx2", "oneDNN capped at AVX2",
        new Dictionary<string, string> { ["ONEDNN_MAX_CPU_ISA"] = "AVX2" });

    /// <summary>oneDNN, ATen's own vectorized kernels and MKL capped at AVX2.</summary>
    public static readonly KernelConfiguration Avx2Everywhere = new("avx2-everywhere", "oneDNN, ATen and MKL capped at AVX2",
        new Dictionary<string, string> { ["ONEDNN_MAX_CPU_ISA"] = "AVX2", ["ATEN_CPU_CAPABILITY"] = "avx2", ["MKL_ENABLE_INSTRUCTIONS"] = "AVX2" });

    /// <summary>The variables that any configuration sets: when a user set one before the process started, that is the choice.</summary>
    public static readonly string[] KnownVariables = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS"];

    /// <summary>The configurations to try, best first: the AVX2 caps exist on x86-64 only.</summary>
    public static IReadOnlyList<KernelConfiguration> Ladder =>
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? [LibTorch, Avx2, Avx2Everywhere] : [LibTorch];

    /// <summary>The configuration of that name, or null.</summary>
    public static KernelConfiguration? Named(string name) =>
        new[] { LibTorch, Avx2, Avx2Everywhere }.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The variables as "NAME=value" text, or "nothing set".</summary>
    public string VariablesText => Variables.Count == 0 ? "nothing set" : string.Join(" ", Variables.Select(v => $"{v.Key}={v.Value}"));

    /// <summary>Sets the variables in this process, where native code reads them (libc's environment, not only .NET's copy).</summary>
    public void Apply()
    {
        foreach (var (name, value) in Variables)
            NativeEnvironment.Set(name, value);
    }
}

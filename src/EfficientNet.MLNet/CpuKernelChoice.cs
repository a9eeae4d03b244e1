namespace EfficientNet.MLNet;

/// <summary>Which float32 CPU kernels libtorch uses in this process (see <see cref="CpuKernels"/>).</summary>
public enum CpuKernelChoice
{
    /// <summary>Check libtorch's own kernels against float64 and fall back to the first right configuration (the default).</summary>
    Auto,

    /// <summary>libtorch's own kernels, whatever the check finds (it still runs and reports).</summary>
    LibTorch,

    /// <summary>oneDNN capped at AVX2 (<c>ONEDNN_MAX_CPU_ISA=AVX2</c>).</summary>
    Avx2,

    /// <summary>oneDNN, ATen's vectorized kernels and MKL capped at AVX2.</summary>
    Avx2Everywhere,
}

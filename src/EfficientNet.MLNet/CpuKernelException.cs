namespace EfficientNet.MLNet;

/// <summary>
/// libtorch's float32 kernels are wrong on this CPU in every configuration the check tried, or became known to be wrong
/// after this process could no longer switch: training or scoring with them would give wrong numbers silently.
/// </summary>
public sealed class CpuKernelException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    public CpuKernelException(string message) : base(message) { }
}

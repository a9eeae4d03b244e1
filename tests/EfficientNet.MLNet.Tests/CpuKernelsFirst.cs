using System.Runtime.CompilerServices;

namespace EfficientNet.MLNet.Tests;

/// <summary>
/// Decides libtorch's CPU kernels before any test runs a convolution: some tests build layers or call libtorch's
/// functions directly, and oneDNN fixes its kernels at the process's first convolution (see <see cref="CpuKernels"/>).
/// </summary>
internal static class CpuKernelsFirst
{
    [ModuleInitializer]
    internal static void Decide()
    {
        try
        {
            CpuKernels.Check();
        }
        catch (CpuKernelException)
        {
            // Every test that builds a model fails with the same message, which names the CPU.
        }
    }
}

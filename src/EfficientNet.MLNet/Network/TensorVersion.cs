using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// libtorch's version counter of a tensor (PyTorch's <c>tensor._version</c>): it grows with every in-place change of
/// the tensor's data (copy_, mul_, an optimizer step, batch-norm statistics in training), so a copy derived from a
/// tensor is current exactly when the version it was taken at is still the tensor's. TorchSharp does not expose it;
/// libtorch exports it as the C++ member <c>at::TensorBase::_version() const</c>, called here with the
/// <c>at::Tensor*</c> that a TorchSharp tensor's handle is. Where the export is not found (another C++ ABI) or does
/// not behave as a counter, <see cref="IsAvailable"/> is false and callers must not cache anything derived from tensors.
/// </summary>
internal static unsafe class TensorVersion
{
    static readonly delegate* unmanaged<IntPtr, long> Version = Find();

    /// <summary>Whether <see cref="Of"/> can be used on this platform.</summary>
    public static bool IsAvailable => Version != null;

    /// <summary>The tensor's version counter.</summary>
    public static long Of(Tensor tensor) => Version(tensor.Handle);

    static delegate* unmanaged<IntPtr, long> Find()
    {
        // TorchSharp has loaded libtorch by now (creating a tensor makes sure of it); probing from TorchSharp's
        // assembly, as its own loader does, finds that same library rather than another libtorch on the system.
        using var probe = zeros(1);
        string[] libraries = { "libtorch_cpu.so", "torch_cpu.dll", "libtorch_cpu.dylib" };
        string[] symbols = { "_ZNK2at10TensorBase8_versionEv", "?_version@TensorBase@at@@QEBA_JXZ" };
        foreach (var library in libraries)
        {
            if (!NativeLibrary.TryLoad(library, typeof(TorchSharp.torch).Assembly, null, out var handle))
                continue;
            foreach (var symbol in symbols)
            {
                if (!NativeLibrary.TryGetExport(handle, symbol, out var address))
                    continue;
                var version = (delegate* unmanaged<IntPtr, long>)address;
                // Trust it only if it counts in-place changes of a tensor and ignores out-of-place ones.
                var before = version(probe.Handle);
                probe.add_(1);
                using (probe.add(1)) { }
                if (version(probe.Handle) == before + 1)
                    return version;
            }
        }
        return null;
    }
}

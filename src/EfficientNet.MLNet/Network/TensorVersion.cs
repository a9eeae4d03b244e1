using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// libtorch's version counter of a tensor (PyTorch's <c>tensor._version</c>): it grows with every in-place change of
/// the tensor's data (copy_, mul_, an optimizer step, batch-norm statistics in training), so a copy derived from a
/// tensor is current exactly when the version it was taken at is still the tensor's. TorchSharp does not expose it;
/// libtorch exports it as the C++ member <c>at::TensorBase::_version() const</c>, called here with the
/// <c>at::Tensor*</c> that a TorchSharp tensor's handle is. A tensor created in inference mode keeps no counter (asking
/// would abort the process), so <c>at::native::is_inference</c> is asked first and such a tensor has no version.
/// Where the exports are not found (another C++ ABI) or do not behave as expected, <see cref="IsAvailable"/> is false
/// and callers must not cache anything derived from tensors.
/// </summary>
internal static unsafe class TensorVersion
{
    static readonly (IntPtr Version, IntPtr IsInference) Functions = Find();

    /// <summary>Whether <see cref="Of"/> can be used on this platform.</summary>
    public static bool IsAvailable => Functions.Version != IntPtr.Zero;

    /// <summary>The tensor's version counter, or null for an inference tensor (which has none).</summary>
    public static long? Of(Tensor tensor)
    {
        var handle = tensor.Handle;
        return ((delegate* unmanaged<IntPtr, byte>)Functions.IsInference)(handle) != 0
            ? null
            : ((delegate* unmanaged<IntPtr, long>)Functions.Version)(handle);
    }

    static (IntPtr, IntPtr) Find()
    {
        // TorchSharp has loaded libtorch by now (creating a tensor makes sure of it); probing from TorchSharp's
        // assembly, as its own loader does, finds that same library rather than another libtorch on the system.
        // The probes are made outside inference mode (a caller may be inside it), and one inside it.
        Tensor probe, inference;
        using (inference_mode(false))
            probe = zeros(1);
        using (inference_mode(true))
            inference = zeros(1);
        using (probe)
        using (inference)
        {
            string[] libraries = { "libtorch_cpu.so", "torch_cpu.dll", "libtorch_cpu.dylib" };
            string[] versions = { "_ZNK2at10TensorBase8_versionEv", "?_version@TensorBase@at@@QEBA_JXZ" };
            string[] inferenceChecks = { "_ZN2at6native12is_inferenceERKNS_6TensorE", "?is_inference@native@at@@YA_NAEBVTensor@2@@Z" };
            foreach (var library in libraries)
            {
                if (!NativeLibrary.TryLoad(library, typeof(TorchSharp.torch).Assembly, null, out var handle))
                    continue;
                var isInference = inferenceChecks.Select(s => NativeLibrary.TryGetExport(handle, s, out var a) ? a : IntPtr.Zero).FirstOrDefault(a => a != IntPtr.Zero);
                if (isInference == IntPtr.Zero)
                    continue;
                var check = (delegate* unmanaged<IntPtr, byte>)isInference;
                if (check(probe.Handle) != 0 || check(inference.Handle) == 0)
                    continue;
                foreach (var symbol in versions)
                {
                    if (!NativeLibrary.TryGetExport(handle, symbol, out var address))
                        continue;
                    var version = (delegate* unmanaged<IntPtr, long>)address;
                    // Trust it only if it counts in-place changes of a tensor and ignores out-of-place ones.
                    var before = version(probe.Handle);
                    using (no_grad())
                    {
                        probe.add_(1);
                        using (probe.add(1)) { }
                    }
                    if (version(probe.Handle) == before + 1)
                        return (address, isInference);
                }
            }
        }
        return (IntPtr.Zero, IntPtr.Zero);
    }
}

using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// glibc's own counts of its heaps (mallinfo2, every arena): the bytes handed out and not yet freed, blocks mapped on
/// their own included, which libtorch's tensors and ONNX Runtime's sessions take theirs from; and the heaps' size, free
/// space included. What separates live native memory from memory glibc keeps for reuse, for the tests and the
/// benchmark (docs/PERFORMANCE.md). With another allocator preloaded, glibc's counts stay near zero.
/// </summary>
internal static class GlibcHeap
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, Unused, FastBinBytes, InUseBytes, FreeBytes, TopBytes;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    static extern MallInfo2 Read();

    /// <summary>Whether the C library is glibc 2.33 or later, which has mallinfo2.</summary>
    public static readonly bool Available = RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
        && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "mallinfo2", out _);

    /// <summary>Bytes handed out and not yet freed: in use in the heaps plus blocks mapped on their own.</summary>
    public static long InUseBytes()
    {
        var info = Read();
        return (long)(info.InUseBytes + info.MappedBytes);
    }

    /// <summary>The heaps' size now, free space included (bytes, every arena).</summary>
    public static long HeapBytes() => (long)Read().Arena;
}

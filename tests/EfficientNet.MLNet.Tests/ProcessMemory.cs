using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Tests;

/// <summary>The process's memory after a full garbage collection (finalizers release native memory).</summary>
internal static class ProcessMemory
{
    /// <summary>Resident memory: what the system sees, including memory the C allocator keeps free for reuse.</summary>
    public static long ResidentBytes()
    {
        Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }

    /// <summary>
    /// Memory held by live objects: the .NET heap plus the native bytes glibc has handed out and not had back
    /// (mallinfo2: in use in its heaps plus blocks mapped on their own), which libtorch's tensors and ONNX Runtime's
    /// sessions take theirs from. Unlike resident memory it leaves out what glibc keeps free for reuse, whose amount
    /// moves by tens of megabytes with how the heaps happen to be split (docs/PERFORMANCE.md). Resident memory where
    /// the C library is not glibc.
    /// </summary>
    public static long LiveBytes()
    {
        if (!GlibcCounts.Available)
            return ResidentBytes();
        Collect();
        return GC.GetTotalMemory(forceFullCollection: false) + GlibcCounts.InUseBytes();
    }

    static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    static class GlibcCounts
    {
        [StructLayout(LayoutKind.Sequential)]
        struct MallInfo2
        {
            public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, Unused, FastBinBytes, InUseBytes, FreeBytes, TopBytes;
        }

        [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
        static extern MallInfo2 Read();

        public static readonly bool Available = RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
            && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "mallinfo2", out _);

        public static long InUseBytes()
        {
            var info = Read();
            return (long)(info.InUseBytes + info.MappedBytes);
        }
    }
}

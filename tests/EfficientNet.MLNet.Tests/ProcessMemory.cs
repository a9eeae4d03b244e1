using System.Diagnostics;
using EfficientNet.MLNet.Native;

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
    /// (<see cref="GlibcHeap.InUseBytes"/>). Unlike resident memory it leaves out what glibc keeps free for reuse, whose amount
    /// moves by tens of megabytes with how the heaps happen to be split (docs/PERFORMANCE.md). Resident memory where
    /// the C library is not glibc.
    /// </summary>
    public static long LiveBytes()
    {
        if (!GlibcHeap.Available)
            return ResidentBytes();
        Collect();
        return GC.GetTotalMemory(forceFullCollection: false) + GlibcHeap.InUseBytes();
    }

    static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

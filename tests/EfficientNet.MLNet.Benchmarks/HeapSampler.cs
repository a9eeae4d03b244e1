using System.Runtime.InteropServices;

/// <summary>
/// glibc's own count of the native memory in use (its heaps' allocated bytes plus the blocks it mapped on their own,
/// from mallinfo2), sampled every millisecond on a thread of its own: the peak of live native memory, which the
/// resident memory, holes included, does not show; and the size of glibc's heaps. pytorch_side.py --sample-heap samples
/// the same way. glibc only: with another allocator preloaded, glibc's counts stay near zero.
/// </summary>
internal sealed class HeapSampler : IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, Unused, FastBinBytes, InUseBytes, FreeBytes, TopBytes;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    static extern MallInfo2 Read();

    readonly Thread thread;
    volatile bool stopping;
    long peakInUse;

    public HeapSampler()
    {
        thread = new Thread(Sample) { IsBackground = true, Name = "heap sampler" };
        thread.Start();
    }

    /// <summary>The largest in-use count seen so far (bytes).</summary>
    public long PeakInUseBytes => Interlocked.Read(ref peakInUse);

    /// <summary>The size of glibc's heaps now, free space included (bytes, every arena).</summary>
    public static long HeapBytes => (long)Read().Arena;

    void Sample()
    {
        while (!stopping)
        {
            var info = Read();
            var inUse = (long)(info.InUseBytes + info.MappedBytes);
            if (inUse > Interlocked.Read(ref peakInUse))
                Interlocked.Exchange(ref peakInUse, inUse);
            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        stopping = true;
        thread.Join();
    }
}

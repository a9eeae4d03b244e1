using EfficientNet.MLNet.Native;

/// <summary>
/// glibc's own count of the native memory in use (<see cref="GlibcHeap.InUseBytes"/>), sampled every millisecond on a
/// thread of its own: the peak of live native memory, which the resident memory, holes included, does not show.
/// pytorch_side.py --sample-heap samples the same way. glibc only.
/// </summary>
internal sealed class HeapSampler : IDisposable
{
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

    void Sample()
    {
        while (!stopping)
        {
            var inUse = GlibcHeap.InUseBytes();
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

using System.Runtime.InteropServices;

/// <summary>
/// fit-files --mmap-threshold: the benchmark's own glibc settings for a Fit with ReuseNativeMemory off. Blocks of at
/// least the given size get mappings of their own, returned when freed (their pages faulted in again every step);
/// smaller ones stay in the heap, which is never trimmed. The middle ground between ReuseNativeMemory (nothing mapped,
/// nothing trimmed) and glibc's defaults, measured and turned down in docs/PERFORMANCE.md. glibc only.
/// </summary>
internal static class GlibcMmapThreshold
{
    // mallopt's parameters (malloc.h).
    const int TrimThresholdParameter = -1;
    const int MmapThresholdParameter = -3;

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    static extern int Mallopt(int parameter, int value);

    /// <summary>Maps blocks of <paramref name="megabytes"/> MiB or more on their own and keeps the heap's free top.</summary>
    public static void Set(int megabytes)
    {
        if (!EfficientNet.MLNet.Native.GlibcHeap.Available)
            throw new PlatformNotSupportedException("--mmap-threshold needs glibc (Linux).");
        // mallopt returns 1 when it took the setting.
        if (megabytes is < 1 or > 1023 || Mallopt(MmapThresholdParameter, megabytes << 20) != 1 || Mallopt(TrimThresholdParameter, int.MaxValue) != 1)
            throw new ArgumentOutOfRangeException(nameof(megabytes), megabytes, "--mmap-threshold takes 1 to 1023 (MiB), which glibc must accept.");
    }
}

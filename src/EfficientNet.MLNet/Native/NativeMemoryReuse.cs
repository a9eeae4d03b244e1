using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// While Fit runs on Linux with glibc, the C allocator keeps the memory libtorch frees for the next training step
/// instead of giving it back to the system at once (<see cref="EfficientNetTrainer.Options.ReuseNativeMemory"/>).
/// <para>
/// Why: a training step allocates its activations and gradients (hundreds of megabytes for b0 at 224 px) and frees them
/// by its end. glibc's defaults serve blocks over 32 MB with their own mmap and trim the heap's free top beyond 64 MB,
/// so the next step asks the kernel again for the same memory, which it faults in and zeroes page by page: a fifth of a
/// training step's time went to the kernel (perf, b0 at 224, batch 16, 2 cores). With mmap off (M_MMAP_MAX 0) and no
/// trimming, Fit from files ran about 1.4x as fast, its peak resident memory 5 to 10% higher, and its resident memory
/// stays level from the first epoch (docs/PERFORMANCE.md). Only on the process's main thread does every block come
/// from the heap: glibc serves other threads from arenas of 64 MB heaps and maps larger blocks on their own anyway,
/// so a Fit on another thread gains less (1.07x to 1.25x in three measurements).
/// </para>
/// <para>
/// These settings are the process's: when the epochs of the last Fit that asked for them end, mmap is allowed again with the
/// thresholds glibc's own adjustment reaches once blocks of 32 MB were freed (mmap above 32 MB, trim beyond 64 MB),
/// and malloc_trim gives the kept memory back. Elsewhere (Windows, macOS, musl) nothing changes, nor where another
/// allocator replaced glibc's malloc (tcmalloc or jemalloc through LD_PRELOAD).
/// </para>
/// <para>
/// What remains above PyTorch's peak is glibc's fragmentation, not more live memory: sampled every millisecond, the
/// bytes in use peak at the same 1.50 GB in both processes, while a heap that is never returned grows to about 1.9 GB.
/// tcmalloc (LD_PRELOAD) gives the reuse's speed with a peak 0.8x PyTorch's (docs/PERFORMANCE.md). Mapping only the
/// largest blocks (a mmap threshold at the stem's activation size, no trimming) was measured as a middle ground and
/// turned down: PyTorch's peak at batch 16, but neither its peak nor 1.5x its speed at batch 32.
/// </para>
/// </summary>
internal static class NativeMemoryReuse
{
    // mallopt's parameters (malloc.h).
    const int TrimThresholdParameter = -1;
    const int MmapThresholdParameter = -3;
    const int MmapMaxParameter = -4;
    // glibc's defaults and the ends of its dynamic adjustment on 64-bit (malloc.c: DEFAULT_MMAP_MAX, DEFAULT_MMAP_THRESHOLD_MAX).
    const int DefaultMmapMax = 65536;
    const int MmapThresholdAfter = 32 << 20;
    const int TrimThresholdAfter = 64 << 20;

    static readonly object Gate = new();
    static readonly Glibc? Allocator = Glibc.Find(out MallocReplaced);
    static readonly bool MallocReplaced;
    static int holders;

    /// <summary>glibc's environment variables that tune malloc: a process that sets them chose its own settings.</summary>
    static readonly string[] TuningVariables = ["MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"];

    /// <summary>Whether this process's C allocator is glibc's, whose settings this class changes.</summary>
    public static bool Available => Allocator is not null;

    /// <summary>
    /// The malloc tuning this process was started with (glibc's MALLOC_*_ variables, GLIBC_TUNABLES' glibc.malloc
    /// entries), or null: a host that tuned its allocator (a service, a notebook kernel) keeps its settings, since the
    /// reuse would override them for the whole process while the epochs run and leave glibc's adjusted defaults after.
    /// </summary>
    public static string? HostTuning()
    {
        var set = TuningVariables.Where(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))).Select(v => $"{v}={Environment.GetEnvironmentVariable(v)}").ToList();
        var tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES");
        if (tunables is not null && tunables.Contains("glibc.malloc.", StringComparison.Ordinal))
            set.Add($"GLIBC_TUNABLES={tunables}");
        return set.Count == 0 ? null : string.Join(" ", set);
    }

    /// <summary>What Fit does with freed native memory in this process, for the trainer's log; null where there is nothing to say.</summary>
    /// <param name="reuse">The trainer's <see cref="EfficientNetTrainer.Options.ReuseNativeMemory"/>.</param>
    public static string? Describe(bool reuse) => (reuse, Available, MallocReplaced, HostTuning()) switch
    {
        (true, true, _, { } tuning) => $"ReuseNativeMemory changes nothing: this process tunes glibc's malloc itself ({tuning}), and those settings are left as they are.",
        (true, true, _, null) => "ReuseNativeMemory: while the epochs run, glibc's malloc keeps the memory a training step frees for the next one (mmap off, no trimming). "
            + "These are the whole process's settings, for every thread (a service or notebook hosting Fit included); afterwards glibc's adjusted defaults return and the kept memory is given back. "
            + "Set ReuseNativeMemory = false (the CLI's --return-memory), or tune malloc yourself (MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES), to keep your own.",
        (false, true, _, _) => "ReuseNativeMemory is off: glibc returns freed memory to the system as usual (lower peak memory, slower steps).",
        (_, false, true, _) => "ReuseNativeMemory changes nothing: this process's malloc is not glibc's (another allocator, such as tcmalloc, was preloaded).",
        _ => null,
    };

    /// <summary>Keeps freed native memory for reuse until the returned object is disposed; null where nothing changes.</summary>
    public static IDisposable? Begin()
    {
        if (Allocator is not { } glibc || HostTuning() is not null)
            return null;
        lock (Gate)
        {
            if (holders++ == 0)
            {
                glibc.Set(MmapMaxParameter, 0);
                glibc.Set(TrimThresholdParameter, int.MaxValue);
            }
        }
        return new Holder(glibc);
    }

    sealed class Holder(Glibc glibc) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1)
                return;
            lock (Gate)
            {
                if (--holders > 0)
                    return;
                glibc.Set(MmapThresholdParameter, MmapThresholdAfter);
                glibc.Set(TrimThresholdParameter, TrimThresholdAfter);
                glibc.Set(MmapMaxParameter, DefaultMmapMax);
                glibc.Trim();
            }
        }
    }

    sealed unsafe class Glibc
    {
        readonly delegate* unmanaged<int, int, int> mallopt;
        readonly delegate* unmanaged<nuint, int> mallocTrim;

        Glibc(IntPtr mallopt, IntPtr mallocTrim)
        {
            this.mallopt = (delegate* unmanaged<int, int, int>)mallopt;
            this.mallocTrim = (delegate* unmanaged<nuint, int>)mallocTrim;
        }

        /// <summary>glibc's allocator when it is the one malloc calls reach; <paramref name="replaced"/>: glibc is there but another malloc came first.</summary>
        public static Glibc? Find(out bool replaced)
        {
            replaced = false;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !NativeLibrary.TryLoad("libc.so.6", out var libc))
                return null;
            // gnu_get_libc_version exists only in glibc: musl (Alpine) has no such settings.
            if (!NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _) ||
                !NativeLibrary.TryGetExport(libc, "mallopt", out var mallopt) ||
                !NativeLibrary.TryGetExport(libc, "malloc_trim", out var trim) ||
                !NativeLibrary.TryGetExport(libc, "malloc", out var glibcMalloc))
                return null;
            // The process's global scope resolves malloc for libtorch: a library preloaded ahead of glibc (LD_PRELOAD) wins there.
            replaced = NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "malloc", out var usedMalloc) && usedMalloc != glibcMalloc;
            return replaced ? null : new Glibc(mallopt, trim);
        }

        public void Set(int parameter, int value) => mallopt(parameter, value);

        public void Trim() => mallocTrim(0);
    }
}

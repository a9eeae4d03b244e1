using System.Runtime.InteropServices;
using EfficientNet.MLNet.Native;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML;

namespace EfficientNet.MLNet.Tests.Native;

/// <summary>
/// ReuseNativeMemory: during Fit glibc serves even large blocks from its heaps (what a training step frees is reused,
/// not returned and faulted in again); before and after Fit it maps them on their own when its heaps have no free
/// space for them, as by default. In the sequential training collection, so that no other Fit runs meanwhile.
/// </summary>
[Collection(TrainingCollection.Name)]
public class NativeMemoryReuseTests(ShapesFixture shapes)
{
    // Above glibc's highest mmap threshold (32 MB on 64-bit), below the 64 MB of a thread arena's heap (the test runs on a
    // worker thread, whose blocks over 64 MB glibc always maps on their own): mapped on its own unless mmap is off.
    const int LargeBlock = 40 << 20;

    // Free space earlier tests left in this thread's heaps serves large blocks first, whatever the settings; each
    // heap holds at most one free 40 MB stretch, so this many blocks use it up (about 2.5 GB of address space, untouched).
    const int Attempts = 64;

    // glibc marks a block it mapped on its own in bit 1 (IS_MMAPPED) of the size word just before the address malloc
    // returns (malloc.c's chunk layout). Read from the block itself, the answer does not depend on what other threads
    // allocate or free meanwhile (a finalizer freeing a large tensor, say), as a count of mapped bytes would.
    const long IsMmapped = 0x2;

    [Fact]
    public void During_Fit_large_native_blocks_come_from_the_heap_and_afterwards_they_are_mapped_again()
    {
        Assert.SkipUnless(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "glibc's allocator settings exist on Linux only");
        Assert.True(NativeMemoryReuse.Available, "Linux here runs glibc, whose allocator Fit tunes");

        Assert.True(LargeBlocksGetMapped(), "before Fit, glibc mapped none of 64 blocks of 40 MB on its own");
        Assert.False(LargeBlocksGetMappedDuringFit(reuse: true), "with ReuseNativeMemory (the default), glibc mapped a 40 MB block on its own during Fit");
        Assert.True(LargeBlocksGetMapped(), "after Fit, glibc's usual behaviour was not restored: none of 64 blocks of 40 MB was mapped on its own");
        Assert.True(LargeBlocksGetMappedDuringFit(reuse: false), "with ReuseNativeMemory = false, Fit changed glibc's behaviour all the same");
    }

    [Fact]
    public void A_process_that_tunes_malloc_itself_keeps_its_settings_through_Fit_and_the_log_says_so()
    {
        Assert.SkipUnless(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "glibc's allocator settings exist on Linux only");
        using var tuned = new EnvironmentVariables().Set("MALLOC_TRIM_THRESHOLD_", "1048576"); // as a host (a service) might start

        var said = NativeMemoryReuse.Describe(reuse: true);

        Assert.Equal("ReuseNativeMemory changes nothing: this process tunes glibc's malloc itself (MALLOC_TRIM_THRESHOLD_=1048576), and those settings are left as they are.", said);
        Assert.True(LargeBlocksGetMappedDuringFit(reuse: true), "Fit overrode the host's own malloc tuning");
    }

    // Allocates (and holds) large blocks until glibc maps one on its own, at most Attempts of them.
    static bool LargeBlocksGetMapped()
    {
        var held = new List<IntPtr>();
        try
        {
            for (var i = 0; i < Attempts; i++)
            {
                var block = Marshal.AllocHGlobal(LargeBlock); // malloc on Unix
                held.Add(block);
                if ((Marshal.ReadInt64(block, -sizeof(long)) & IsMmapped) != 0)
                    return true;
            }
            return false;
        }
        finally
        {
            for (var i = held.Count - 1; i >= 0; i--)
                Marshal.FreeHGlobal(held[i]);
        }
    }

    bool LargeBlocksGetMappedDuringFit(bool reuse)
    {
        bool? mapped = null;
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 32));
        using var classifier = new MLContext(seed: 1).MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(epochs: 1) with
        {
            ReuseNativeMemory = reuse,
            BatchCompleted = _ => mapped ??= LargeBlocksGetMapped(),
        }).Fit(data);
        return mapped ?? throw new InvalidOperationException("Fit completed no batch");
    }
}

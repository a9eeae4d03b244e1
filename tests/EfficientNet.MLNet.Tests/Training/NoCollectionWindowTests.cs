using System.Runtime;
using EfficientNet.MLNet.Training;

namespace EfficientNet.MLNet.Tests.Training;

/// <summary>
/// Runs alone: the no-GC region's budget counts every thread's allocations, so another test allocating tens of
/// megabytes at the same time would end the region early and fail these for no fault of theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NoCollectionWindowCollection
{
    public const string Name = "No-GC region (sequential)";
}

[Collection(NoCollectionWindowCollection.Name)]
public class NoCollectionWindowTests
{
    [Fact]
    public void No_collection_happens_inside_the_window_while_it_allocates_and_the_process_is_back_to_normal_after()
    {
        var before = GC.CollectionCount(0);
        var during = -1;
        var mode = GCLatencyMode.Batch;

        NoCollectionWindow.Run(() =>
        {
            // About 16 MB of small garbage: several gen0 budgets' worth, which would collect outside a window.
            for (var i = 0; i < 160_000; i++)
                GC.KeepAlive(new byte[100]);
            during = GC.CollectionCount(0);
            mode = GCSettings.LatencyMode;
        });

        // Starting the region collects once; nothing after that until the window closes.
        Assert.InRange(during - before, 0, 1);
        Assert.Equal(GCLatencyMode.NoGCRegion, mode);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void A_window_whose_budget_runs_out_or_that_throws_leaves_the_process_as_it_found_it()
    {
        // 200 MB inside a 64 MB region: the runtime collects and ends the region by itself.
        NoCollectionWindow.Run(() =>
        {
            for (var i = 0; i < 200; i++)
                GC.KeepAlive(new byte[1 << 20]);
        });
        Assert.Throws<InvalidDataException>(() => NoCollectionWindow.Run(() => throw new InvalidDataException("inside")));

        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        var count = GC.CollectionCount(0);
        for (var i = 0; i < 2000; i++)
            GC.KeepAlive(new byte[100_000]);
        Assert.True(GC.CollectionCount(0) > count, "collections happen again after the window");
    }
}

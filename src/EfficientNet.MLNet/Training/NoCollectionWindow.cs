using System.Runtime;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Runs an action with garbage collection held off (a no-GC region), for TorchSharp code the library cannot change:
/// TorchSharp 0.107's optimizers (AdamW, SGD, RMSProp, written in C#) hand libtorch the handles of temporary Scalars (their
/// betas, alphas, learning rates), and a collection during such a call can finalize one while libtorch reads it, which
/// kills the process (see <see cref="Network.Scalars"/>). No collection happens inside the region, so no Scalar of the
/// step is finalized before its call returns. Starting a region costs one collection, about 0.3 ms (measured with
/// 300,000 finalizable objects and 450 MB of image arrays), against tens to hundreds of milliseconds per training step;
/// in Fits of b0 at 64 px the difference stayed within the run-to-run noise (about 10%). Should the process allocate more than the region's budget meanwhile (other threads count too), the runtime
/// collects and ends the region early: the step then runs as it would without it.
/// </summary>
internal static class NoCollectionWindow
{
    /// <summary>What the region lets the whole process allocate: an optimizer step allocates well under 1 MB.</summary>
    const long BudgetBytes = 64L << 20;

    // One region at a time in the process: concurrent Fits take turns for their optimizer steps.
    static readonly object Gate = new();

    public static void Run(Action action)
    {
        lock (Gate)
        {
            var started = false;
            try
            {
                // Without a full blocking collection to start it: the region starts all the same (40 of 40 in a
                // micro-benchmark with 300,000 finalizable objects and 450 MB of image arrays), for 0.28 ms instead of 0.41 to 2 ms.
                started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(BudgetBytes, disallowFullBlockingGC: true);
            }
            catch (InvalidOperationException)
            {
                // Another part of the process holds a region already: GC stays off anyway.
            }
            catch (ArgumentOutOfRangeException)
            {
                // A runtime whose budget limit is below ours: the step runs unprotected, as without the window.
            }
            try
            {
                action();
            }
            finally
            {
                if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
                {
                    try
                    {
                        GC.EndNoGCRegion();
                    }
                    catch (InvalidOperationException)
                    {
                        // The budget ran out and the runtime ended the region itself.
                    }
                }
            }
        }
    }
}

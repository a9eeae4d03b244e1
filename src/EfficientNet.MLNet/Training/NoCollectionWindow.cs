using System.Runtime;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Runs an action with garbage collection held off (a no-GC region), for TorchSharp code the library cannot change:
/// TorchSharp 0.107's optimizers (AdamW, SGD, RMSProp, written in C#) hand libtorch the handles of temporary Scalars (their
/// betas, alphas, learning rates), and a collection during such a call can finalize one while libtorch reads it, which
/// kills the process (see <see cref="Network.Scalars"/>). No collection happens inside the region, so no Scalar of the
/// step is finalized before its call returns. Starting a region does one full collection; on a heap of decoded images
/// that costs about 0.3 ms (measured with 1 GB of image arrays), against tens to hundreds of milliseconds per training
/// step. Should the process allocate more than the region's budget meanwhile (other threads count too), the runtime
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
                started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(BudgetBytes);
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

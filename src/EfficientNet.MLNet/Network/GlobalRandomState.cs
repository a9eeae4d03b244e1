using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// Keeps libtorch's global generator as it was across a block that draws from it only as a side effect: TorchSharp's
/// layer constructors initialize their weights from it before <see cref="WeightInitialization"/> draws the real
/// values from a model's own generator. Blocks that keep it run one at a time, so that two models built at once
/// cannot hand each other a moved stream; other code drawing from the global generator meanwhile is not held back.
/// </summary>
internal static class GlobalRandomState
{
    private static readonly object Gate = new();

    /// <summary>Takes the global generator's state; disposing the result puts it back.</summary>
    public static IDisposable Keep()
    {
        Monitor.Enter(Gate);
        try
        {
            return new Kept(random.get_rng_state());
        }
        catch
        {
            Monitor.Exit(Gate);
            throw;
        }
    }

    private sealed class Kept(Tensor state) : IDisposable
    {
        private bool restored;

        public void Dispose()
        {
            if (restored) return;
            restored = true;
            try
            {
                random.set_rng_state(state);
                state.Dispose();
            }
            finally
            {
                Monitor.Exit(Gate);
            }
        }
    }
}

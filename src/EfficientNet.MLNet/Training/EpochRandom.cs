using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The random sources of one epoch, derived from the run's seed and the epoch number only: the shuffling order,
/// the augmentation, and the run's own libtorch generator (dropout, stochastic depth). A run resumed from a checkpoint
/// after epoch N therefore draws exactly what an uninterrupted run draws in epoch N+1; libtorch's global generator is
/// never touched.
/// </summary>
internal sealed class EpochRandom
{
    private EpochRandom(Random order, Random augmentation)
    {
        Order = order;
        Augmentation = augmentation;
    }

    /// <summary>Draws the order of the training images (used on the prefetch thread).</summary>
    public Random Order { get; }

    /// <summary>Draws crops and flips (used on the training thread).</summary>
    public Random Augmentation { get; }

    /// <summary>Seeds the three sources for <paramref name="epoch"/>; <paramref name="generator"/> is reseeded here.</summary>
    public static EpochRandom For(int seed, int epoch, Generator generator)
    {
        generator.manual_seed(Mix(seed, epoch, 3));
        return new EpochRandom(new Random((int)Mix(seed, epoch, 1)), new Random((int)Mix(seed, epoch, 2)));
    }

    // SplitMix64's finalizer over (seed, epoch, stream): well-spread, distinct streams for each purpose.
    static long Mix(int seed, int epoch, int stream)
    {
        unchecked
        {
            var z = ((ulong)(uint)seed << 32 | (uint)epoch) + (ulong)stream * 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (long)((z ^ (z >> 31)) & 0x7FFFFFFF);
        }
    }
}

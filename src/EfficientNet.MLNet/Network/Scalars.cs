using System.Collections.Concurrent;
using TorchSharp;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// Scalars that live as long as the process, for the arithmetic of the library's per-batch code. TorchSharp 0.107 turns
/// a number (and the default alpha of <c>add</c>, so also <c>tensor + tensor</c>) into a temporary <see cref="Scalar"/>
/// and hands only its handle to libtorch; a garbage collection during that call can finalize the temporary while libtorch
/// still reads it, which kills the process ("Expected false to be true" from <c>Scalar::toLong</c> or <c>toFloat</c>,
/// seen in a CI run and in a benchmark). A Scalar from here is never finalized. The values are the few constants of a
/// network and its training (drop probabilities, epsilons), so the cache stays small.
/// </summary>
internal static class Scalars
{
    static readonly ConcurrentDictionary<double, Scalar> Cache = new();

    /// <summary>1.0: the alpha of a plain addition.</summary>
    public static Scalar One { get; } = Of(1.0);

    /// <summary>A Scalar holding <paramref name="value"/>, made once.</summary>
    public static Scalar Of(double value) => Cache.GetOrAdd(value, static v => v.ToScalar());
}

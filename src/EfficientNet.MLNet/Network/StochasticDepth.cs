using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// Stochastic depth (Huang et al., 2016) in "row" mode: in training, each sample's residual branch is dropped
/// with probability p and the survivors are scaled by 1 / (1 - p); in evaluation it is the identity.
/// </summary>
public sealed class StochasticDepth : nn.Module<Tensor, Tensor>
{
    /// <summary>Builds the module.</summary>
    /// <param name="probability">Probability of dropping a sample's branch, in [0, 1].</param>
    public StochasticDepth(double probability) : base(nameof(StochasticDepth))
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "The drop probability must be in [0, 1].");
        Probability = probability;
    }

    /// <summary>Probability of dropping a sample's branch in training.</summary>
    public double Probability { get; }

    /// <summary>Where training draws the dropped rows from; null: libtorch's global generator. The trainer sets its own per Fit.</summary>
    internal Generator? Generator { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Apply(input, Probability, training, Generator);

    /// <summary>
    /// The end of an inverted-residual block: the branch alone, or (when the block has a residual connection) the branch
    /// after stochastic depth plus the block's input. Takes ownership of <paramref name="branch"/>.
    /// </summary>
    internal Tensor AddResidual(Tensor branch, Tensor input, bool hasResidual)
    {
        if (!hasResidual)
            return branch;
        using (branch)
        using (var kept = call(branch))
            return kept.add(input, Scalars.One);
    }

    /// <summary>The function behind the module: whole rows (samples) are kept or zeroed together.</summary>
    /// <param name="input">A batch, batch dimension first.</param>
    /// <param name="probability">Drop probability.</param>
    /// <param name="training">Identity unless true.</param>
    /// <param name="generator">The random source; null: libtorch's global generator.</param>
    /// <returns>A new tensor object (an alias of the input when nothing is dropped), never the input itself.</returns>
    public static Tensor Apply(Tensor input, double probability, bool training, Generator? generator = null)
    {
        if (!training || probability == 0)
            return input.alias();
        var survival = 1.0 - probability;
        var rowShape = new long[input.dim()];
        Array.Fill(rowShape, 1L);
        rowShape[0] = input.shape[0];
        using var noise = empty(rowShape, input.dtype, input.device).bernoulli_(survival, generator);
        if (survival > 0)
            noise.div_(Scalars.Of(survival));
        return input * noise;
    }
}

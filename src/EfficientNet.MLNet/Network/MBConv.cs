using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// The mobile inverted bottleneck (Sandler et al., 2018) with squeeze-and-excitation: expand with a 1x1
/// convolution, filter with a depthwise k x k convolution, gate the channels, project back with a linear 1x1
/// convolution, and add the input when the shapes allow. Children follow torchvision: <c>block</c> (a
/// Sequential) and <c>stochastic_depth</c>.
/// </summary>
public sealed class MBConv : nn.Module<Tensor, Tensor>
{
    private readonly Sequential block;
    private readonly StochasticDepth stochastic_depth;

    /// <summary>Builds the block.</summary>
    /// <param name="spec">Channels, expansion, kernel, stride and drop probability.</param>
    /// <param name="batchNormEpsilon">Batch-norm epsilon.</param>
    /// <param name="batchNormMomentum">Batch-norm momentum (PyTorch's convention).</param>
    /// <param name="padding">Symmetric (torchvision) or TensorFlow's "SAME" (timm's <c>tf_*</c> models).</param>
    public MBConv(BlockSpec spec, double batchNormEpsilon = BatchNorm2d.DefaultEpsilon, double batchNormMomentum = BatchNorm2d.DefaultMomentum,
        ConvPadding padding = ConvPadding.Symmetric) : base(nameof(MBConv))
    {
        if (spec.Kind != BlockKind.MBConv)
            throw new ArgumentException($"An MBConv is built from an MBConv spec; this one is a {spec.Kind}.", nameof(spec));
        Spec = spec;
        var expanded = spec.ExpandedChannels;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        // Expand: only when the ratio actually widens the block.
        if (spec.HasExpansion)
            layers.Add(new ConvNormActivation(spec.InputChannels, expanded, 1, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
        // Depthwise: one filter per channel, carrying the block's stride.
        layers.Add(new ConvNormActivation(expanded, expanded, spec.KernelSize, spec.Stride, groups: expanded, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
        // Squeeze-and-excitation.
        layers.Add(new SqueezeExcitation(expanded, spec.SqueezeChannels));
        // Project: linear bottleneck, no activation.
        layers.Add(new ConvNormActivation(expanded, spec.OutputChannels, 1, withActivation: false, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
        block = nn.Sequential(layers);
        stochastic_depth = new StochasticDepth(spec.StochasticDepthProbability);
        RegisterComponents();
    }

    /// <summary>The block's configuration.</summary>
    public BlockSpec Spec { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => stochastic_depth.AddResidual(block.call(input), input, Spec.HasResidual);
}

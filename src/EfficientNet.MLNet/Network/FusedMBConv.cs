using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// EfficientNetV2's Fused-MBConv (Tan and Le, 2021): the expansion and the depthwise convolution of an MBConv replaced by
/// one full k x k convolution, which runs faster on accelerators in the early, high-resolution stages; then a linear 1x1
/// projection; no squeeze-and-excitation; the input added when the shapes allow. Without expansion it is a single k x k
/// convolution to the output channels. Children follow torchvision: <c>block</c> and <c>stochastic_depth</c>.
/// </summary>
public sealed class FusedMBConv : nn.Module<Tensor, Tensor>
{
    private readonly Sequential block;
    private readonly StochasticDepth stochastic_depth;

    /// <summary>Builds the block.</summary>
    /// <param name="spec">Channels, expansion, kernel, stride and drop probability; its kind must be <see cref="BlockKind.FusedMBConv"/>.</param>
    /// <param name="batchNormEpsilon">Batch-norm epsilon.</param>
    /// <param name="batchNormMomentum">Batch-norm momentum (PyTorch's convention).</param>
    /// <param name="padding">Symmetric (torchvision) or TensorFlow's "SAME" (timm's <c>tf_*</c> models).</param>
    public FusedMBConv(BlockSpec spec, double batchNormEpsilon = BatchNorm2d.DefaultEpsilon, double batchNormMomentum = BatchNorm2d.DefaultMomentum,
        ConvPadding padding = ConvPadding.Symmetric)
        : base(nameof(FusedMBConv))
    {
        if (spec.Kind != BlockKind.FusedMBConv)
            throw new ArgumentException($"A Fused-MBConv is built from a Fused-MBConv spec; this one is a {spec.Kind}.", nameof(spec));
        Spec = spec;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (spec.HasExpansion)
        {
            // Fused expansion: one k x k convolution widens and filters, carrying the block's stride.
            layers.Add(new ConvNormActivation(spec.InputChannels, spec.ExpandedChannels, spec.KernelSize, spec.Stride, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
            // Project: linear bottleneck, no activation.
            layers.Add(new ConvNormActivation(spec.ExpandedChannels, spec.OutputChannels, 1, withActivation: false, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
        }
        else
        {
            layers.Add(new ConvNormActivation(spec.InputChannels, spec.OutputChannels, spec.KernelSize, spec.Stride, batchNormEpsilon: batchNormEpsilon, batchNormMomentum: batchNormMomentum, padding: padding));
        }
        block = nn.Sequential(layers);
        stochastic_depth = new StochasticDepth(spec.StochasticDepthProbability);
        RegisterComponents();
    }

    /// <summary>The block's configuration.</summary>
    public BlockSpec Spec { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => stochastic_depth.AddResidual(block.call(input), input, Spec.HasResidual);
}

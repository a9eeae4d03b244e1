using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// A convolution with its batch norm folded in, for inference: weight * gamma / sqrt(var + eps) and
/// beta - mean * gamma / sqrt(var + eps) as the bias. One convolution instead of a convolution and a
/// normalization; equal outputs to float rounding. Held outside the module's registered state, so the
/// state_dict (torchvision's names) is unchanged.
/// </summary>
internal sealed class FoldedConvolution : IDisposable
{
    private readonly long[] stride, padding;
    private readonly long groups;

    public FoldedConvolution(Tensor convolutionWeight, Tensor normWeight, Tensor normBias, Tensor runningMean, Tensor runningVar,
        double epsilon, long[] stride, long[] padding, long groups)
    {
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var scale = normWeight / (runningVar + epsilon).sqrt();
        Weight = (convolutionWeight * scale.view(-1, 1, 1, 1)).contiguous().MoveToOuterDisposeScope();
        Bias = (normBias - runningMean * scale).MoveToOuterDisposeScope();
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }

    public Tensor Apply(Tensor input) => nn.functional.conv2d(input, Weight, Bias, stride, padding, new long[] { 1, 1 }, groups);

    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}

namespace EfficientNet.MLNet.Network;

/// <summary>Everything one inverted-residual block needs, after scaling.</summary>
/// <param name="InputChannels">Channels coming in.</param>
/// <param name="OutputChannels">Channels going out.</param>
/// <param name="ExpandRatio">Expansion of the 1x1 convolution (1 means the block has none).</param>
/// <param name="KernelSize">Depthwise kernel size.</param>
/// <param name="Stride">Depthwise stride.</param>
/// <param name="StochasticDepthProbability">Probability of dropping the residual branch in training.</param>
public sealed record MBConvSpec(int InputChannels, int OutputChannels, int ExpandRatio, int KernelSize, int Stride, double StochasticDepthProbability)
{
    /// <summary>Channels after expansion, rounded like every other channel count.</summary>
    public int ExpandedChannels => ScalingRules.MakeDivisible(InputChannels * ExpandRatio);

    /// <summary>Whether the block starts with a 1x1 expansion convolution (its ratio widens it).</summary>
    public bool HasExpansion => ExpandRatio != 1;

    /// <summary>Squeeze-and-excitation bottleneck: a quarter of the block's input channels, at least 1.</summary>
    public int SqueezeChannels => Math.Max(1, InputChannels / 4);

    /// <summary>The residual connection exists only where the shapes allow it: stride 1 and equal channels.</summary>
    public bool HasResidual => Stride == 1 && InputChannels == OutputChannels;
}

namespace EfficientNet.MLNet.Network;

/// <summary>Everything one inverted-residual block needs, after scaling.</summary>
/// <param name="InputChannels">Channels coming in.</param>
/// <param name="OutputChannels">Channels going out.</param>
/// <param name="ExpandRatio">Expansion of the first convolution.</param>
/// <param name="KernelSize">Kernel of the spatial convolution (depthwise in MBConv, full in Fused-MBConv).</param>
/// <param name="Stride">Stride of the spatial convolution.</param>
/// <param name="StochasticDepthProbability">Probability of dropping the residual branch in training.</param>
/// <param name="Kind">MBConv or Fused-MBConv.</param>
public sealed record BlockSpec(int InputChannels, int OutputChannels, int ExpandRatio, int KernelSize, int Stride, double StochasticDepthProbability,
    BlockKind Kind = BlockKind.MBConv)
{
    /// <summary>Channels after expansion, rounded like every other channel count.</summary>
    public int ExpandedChannels => ScalingRules.MakeDivisible(InputChannels * ExpandRatio);

    /// <summary>
    /// Whether the block has a convolution of its own for the expansion (torchvision's rule: the expanded channels differ
    /// from the input's). Without one, an MBConv starts with its depthwise convolution and a Fused-MBConv is a single
    /// k x k convolution straight to the output channels.
    /// </summary>
    public bool HasExpansion => ExpandedChannels != InputChannels;

    /// <summary>Squeeze-and-excitation bottleneck of an MBConv: a quarter of the block's input channels, at least 1 (Fused-MBConv has none).</summary>
    public int SqueezeChannels => Math.Max(1, InputChannels / 4);

    /// <summary>The residual connection exists only where the shapes allow it: stride 1 and equal channels.</summary>
    public bool HasResidual => Stride == 1 && InputChannels == OutputChannels;
}

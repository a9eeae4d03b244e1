namespace EfficientNet.MLNet.Network;

/// <summary>The two inverted-residual blocks of the EfficientNet family.</summary>
public enum BlockKind
{
    /// <summary>
    /// The mobile inverted bottleneck (V1 and V2's later stages): 1x1 expansion, depthwise k x k convolution,
    /// squeeze-and-excitation, 1x1 projection. See <see cref="MBConv"/>.
    /// </summary>
    MBConv,

    /// <summary>
    /// EfficientNetV2's fused block (its early stages): one full k x k convolution does the expansion and the spatial
    /// filtering, then a 1x1 projection; no squeeze-and-excitation. See <see cref="FusedMBConv"/>.
    /// </summary>
    FusedMBConv,
}

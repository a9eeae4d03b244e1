namespace EfficientNet.MLNet.Network;

/// <summary>
/// One stage of the baseline network, as a row of the seed's base table:
/// <c>[expand, channels, repeats, stride, kernel]</c>.
/// </summary>
/// <param name="ExpandRatio">Channel expansion of the inverted residual's 1x1 convolution (1 means no expansion).</param>
/// <param name="Channels">Output channels of every block in the stage, before width scaling.</param>
/// <param name="Repeats">Number of blocks in the stage, before depth scaling.</param>
/// <param name="Stride">Stride of the stage's first block (the others use 1).</param>
/// <param name="KernelSize">Kernel size of the depthwise convolution.</param>
public sealed record StageSpec(int ExpandRatio, int Channels, int Repeats, int Stride, int KernelSize);

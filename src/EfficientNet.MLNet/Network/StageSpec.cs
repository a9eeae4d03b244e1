namespace EfficientNet.MLNet.Network;

/// <summary>
/// One stage of a <see cref="BlockTable"/>, as a row of the papers' tables: <c>[expand, channels, repeats, stride, kernel]</c>
/// and the kind of block.
/// </summary>
/// <param name="ExpandRatio">Channel expansion of the block's first convolution (1 means it has no separate expansion).</param>
/// <param name="Channels">Output channels of every block in the stage, before width scaling.</param>
/// <param name="Repeats">Number of blocks in the stage, before depth scaling.</param>
/// <param name="Stride">Stride of the stage's first block (the others use 1).</param>
/// <param name="KernelSize">Kernel size of the block's spatial convolution (depthwise in MBConv, full in Fused-MBConv).</param>
/// <param name="Block">Which block the stage repeats.</param>
public sealed record StageSpec(int ExpandRatio, int Channels, int Repeats, int Stride, int KernelSize, BlockKind Block = BlockKind.MBConv);

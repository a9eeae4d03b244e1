namespace EfficientNet.MLNet.Network;

/// <summary>
/// The base network of a family before width and depth scaling: stem channels, the stage rows, and the head. Each
/// table is written once here; <see cref="EfficientNetVariants"/> scales them and <see cref="EfficientNetArchitecture.Plan"/>
/// turns a variant into blocks.
/// </summary>
/// <param name="Name">"v1", "v2_s", "v2_m" or "v2_l" (stored in saved models).</param>
/// <param name="StemChannels">Output channels of the 3x3 stride-2 stem convolution, before width scaling.</param>
/// <param name="Stages">The stages, first to last.</param>
/// <param name="HeadChannels">Output channels of the 1x1 head convolution before width scaling; null: V1's rule,
/// <see cref="HeadChannelMultiplier"/> times the last stage's channels.</param>
public sealed record BlockTable(string Name, int StemChannels, IReadOnlyList<StageSpec> Stages, int? HeadChannels)
{
    /// <summary>V1's head convolution has this many times the last stage's channels.</summary>
    public const int HeadChannelMultiplier = 4;

    /// <summary>EfficientNet-B0's seven MBConv stages (Tan and Le, 2019, table 1), which compound scaling grows into b1..b7.</summary>
    public static BlockTable V1 { get; } = new("v1", 32, new StageSpec[]
    {
        //   expand, channels, repeats, stride, kernel
        new(1, 16, 1, 1, 3),
        new(6, 24, 2, 2, 3),
        new(6, 40, 2, 2, 5),
        new(6, 80, 3, 2, 3),
        new(6, 112, 3, 1, 5),
        new(6, 192, 4, 2, 5),
        new(6, 320, 1, 1, 3),
    }, HeadChannels: null);

    /// <summary>EfficientNetV2-S (Tan and Le, 2021, table 4, as torchvision builds it): three Fused-MBConv stages, then three MBConv.</summary>
    public static BlockTable V2S { get; } = new("v2_s", 24, new StageSpec[]
    {
        new(1, 24, 2, 1, 3, BlockKind.FusedMBConv),
        new(4, 48, 4, 2, 3, BlockKind.FusedMBConv),
        new(4, 64, 4, 2, 3, BlockKind.FusedMBConv),
        new(4, 128, 6, 2, 3),
        new(6, 160, 9, 1, 3),
        new(6, 256, 15, 2, 3),
    }, HeadChannels: 1280);

    /// <summary>EfficientNetV2-M (torchvision's table): three Fused-MBConv stages, then four MBConv.</summary>
    public static BlockTable V2M { get; } = new("v2_m", 24, new StageSpec[]
    {
        new(1, 24, 3, 1, 3, BlockKind.FusedMBConv),
        new(4, 48, 5, 2, 3, BlockKind.FusedMBConv),
        new(4, 80, 5, 2, 3, BlockKind.FusedMBConv),
        new(4, 160, 7, 2, 3),
        new(6, 176, 14, 1, 3),
        new(6, 304, 18, 2, 3),
        new(6, 512, 5, 1, 3),
    }, HeadChannels: 1280);

    /// <summary>EfficientNetV2-L (torchvision's table): three Fused-MBConv stages, then four MBConv.</summary>
    public static BlockTable V2L { get; } = new("v2_l", 32, new StageSpec[]
    {
        new(1, 32, 4, 1, 3, BlockKind.FusedMBConv),
        new(4, 64, 7, 2, 3, BlockKind.FusedMBConv),
        new(4, 96, 7, 2, 3, BlockKind.FusedMBConv),
        new(4, 192, 10, 2, 3),
        new(6, 224, 19, 1, 3),
        new(6, 384, 25, 2, 3),
        new(6, 640, 7, 1, 3),
    }, HeadChannels: 1280);

    /// <summary>Every table, V1 first.</summary>
    public static IReadOnlyList<BlockTable> All { get; } = new[] { V1, V2S, V2M, V2L };

    /// <summary>The table of this <see cref="Name"/>, or null when this version of the library has none by that name.</summary>
    public static BlockTable? Find(string name) => All.FirstOrDefault(table => table.Name == name);

    /// <summary>Head channels after width scaling, for a last stage of <paramref name="lastStageChannels"/> (already scaled).</summary>
    public int ScaledHeadChannels(int lastStageChannels, double widthMultiplier) =>
        HeadChannels is { } head ? ScalingRules.ScaleChannels(head, widthMultiplier) : HeadChannelMultiplier * lastStageChannels;
}

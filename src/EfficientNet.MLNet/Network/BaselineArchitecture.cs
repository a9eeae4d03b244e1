namespace EfficientNet.MLNet.Network;

/// <summary>
/// EfficientNet-B0, the baseline that compound scaling grows: written once, every variant derives from it.
/// </summary>
public static class BaselineArchitecture
{
    /// <summary>Output channels of the 3x3 stride-2 stem convolution, before width scaling.</summary>
    public const int StemChannels = 32;

    /// <summary>The 1x1 head convolution has this many times the last stage's channels.</summary>
    public const int HeadChannelMultiplier = 4;

    /// <summary>The resolution B0 was designed for; compound scaling multiplies it by gamma^phi.</summary>
    public const int BaseResolution = 224;

    /// <summary>The seven MBConv stages of B0 (Tan and Le, 2019, table 1).</summary>
    public static IReadOnlyList<StageSpec> Stages { get; } = new[]
    {
        //           expand, channels, repeats, stride, kernel
        new StageSpec(1, 16, 1, 1, 3),
        new StageSpec(6, 24, 2, 2, 3),
        new StageSpec(6, 40, 2, 2, 5),
        new StageSpec(6, 80, 3, 2, 3),
        new StageSpec(6, 112, 3, 1, 5),
        new StageSpec(6, 192, 4, 2, 5),
        new StageSpec(6, 320, 1, 1, 3),
    };
}

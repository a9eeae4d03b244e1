namespace EfficientNet.MLNet.Network;

/// <summary>How width and depth multipliers turn into whole channel and block counts (torchvision's rules).</summary>
public static class ScalingRules
{
    /// <summary>Channel counts are multiples of this.</summary>
    public const int ChannelDivisor = 8;

    /// <summary>
    /// Rounds to the nearest multiple of <paramref name="divisor"/>, never below the divisor and never more than
    /// 10% below <paramref name="value"/>. This is <c>_make_divisible</c> from the TensorFlow MobileNet code,
    /// which torchvision and the EfficientNet reference implementation share; it keeps channel counts
    /// hardware-friendly without losing much width.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = ChannelDivisor)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "A channel count must be positive.");
        if (divisor <= 0) throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "The divisor must be positive.");
        var rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    /// <summary>Channels after width scaling: <c>MakeDivisible(channels * width)</c>.</summary>
    public static int ScaleChannels(int channels, double widthMultiplier) => MakeDivisible(channels * widthMultiplier);

    /// <summary>Blocks after depth scaling, rounded up: <c>ceil(repeats * depth)</c>.</summary>
    public static int ScaleRepeats(int repeats, double depthMultiplier) => (int)Math.Ceiling(repeats * depthMultiplier);
}

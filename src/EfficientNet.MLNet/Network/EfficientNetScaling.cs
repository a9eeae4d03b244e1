namespace EfficientNet.MLNet.Network;

/// <summary>
/// One row of the variant table: a <see cref="BlockTable"/> and how much wider, deeper and higher-resolution than it,
/// and how strongly to regularize. The named variants (b0..b7, v2_s, v2_m, v2_l) are in <see cref="EfficientNetVariants"/>;
/// other points of V1's curve come from <see cref="CompoundScaling"/> or from this constructor with explicit multipliers.
/// </summary>
/// <param name="Name">A short name, e.g. "b0" or "v2_s" (used in summaries and saved models).</param>
/// <param name="WidthMultiplier">Channel multiplier applied to every stage, the stem and the head.</param>
/// <param name="DepthMultiplier">Block-count multiplier applied to every stage.</param>
/// <param name="Resolution">The input resolution the variant is meant for, in pixels (square).</param>
/// <param name="DropoutRate">Dropout before the classifier.</param>
/// <param name="BatchNormEpsilon">Batch-norm epsilon (torchvision uses 1e-3 for b5..b7 and V2, 1e-5 otherwise).</param>
/// <param name="BatchNormMomentum">Batch-norm momentum in PyTorch's convention (0.01 for b5..b7, 0.1 otherwise).</param>
public sealed record EfficientNetScaling(
    string Name,
    double WidthMultiplier,
    double DepthMultiplier,
    int Resolution,
    double DropoutRate,
    double BatchNormEpsilon = BatchNorm2d.DefaultEpsilon,
    double BatchNormMomentum = BatchNorm2d.DefaultMomentum)
{
    /// <summary>The base network that the multipliers scale: <see cref="BlockTable.V1"/> (b0's stages) unless set.</summary>
    public BlockTable Blocks { get; init; } = BlockTable.V1;

    /// <summary>How the convolutions pad: <see cref="ConvPadding.Symmetric"/> (torchvision's) unless set; TensorFlow's "SAME" for timm's <c>tf_*</c> models.</summary>
    public ConvPadding Padding { get; init; } = ConvPadding.Symmetric;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value that cannot build a network.</summary>
    public EfficientNetScaling Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
            throw new ArgumentException("A scaling needs a name, e.g. \"b0\" or \"custom\".", nameof(Name));
        if (Blocks is null)
            throw new ArgumentException("A scaling needs a block table, e.g. BlockTable.V1.", nameof(Blocks));
        if (!Enum.IsDefined(Padding))
            throw new ArgumentException($"Padding must be Symmetric or Same; got {Padding}.", nameof(Padding));
        if (!(WidthMultiplier > 0) || double.IsInfinity(WidthMultiplier))
            throw new ArgumentException($"WidthMultiplier must be a positive number; got {WidthMultiplier}.", nameof(WidthMultiplier));
        if (!(DepthMultiplier > 0) || double.IsInfinity(DepthMultiplier))
            throw new ArgumentException($"DepthMultiplier must be a positive number; got {DepthMultiplier}.", nameof(DepthMultiplier));
        if (Resolution < 32)
            throw new ArgumentException($"Resolution must be at least 32 pixels (the network downsamples 32 times); got {Resolution}.", nameof(Resolution));
        if (!(DropoutRate >= 0 && DropoutRate < 1))
            throw new ArgumentException($"DropoutRate must be in [0, 1); got {DropoutRate}.", nameof(DropoutRate));
        if (!(BatchNormEpsilon > 0))
            throw new ArgumentException($"BatchNormEpsilon must be positive; got {BatchNormEpsilon}.", nameof(BatchNormEpsilon));
        if (!(BatchNormMomentum > 0 && BatchNormMomentum <= 1))
            throw new ArgumentException($"BatchNormMomentum must be in (0, 1]; got {BatchNormMomentum}.", nameof(BatchNormMomentum));
        return this;
    }
}

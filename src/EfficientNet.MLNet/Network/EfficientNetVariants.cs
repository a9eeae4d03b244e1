namespace EfficientNet.MLNet.Network;

/// <summary>
/// The variant table: the paper's b0 to b7 (V1's block table scaled by width and depth) and EfficientNetV2-S, -M and -L
/// (each its own block table), with torchvision's dropout and batch-norm settings; and the same eleven networks as
/// Google's TensorFlow code builds them (timm's <c>tf_efficientnet_b0</c>..<c>_b7</c>, <c>tf_efficientnetv2_s</c>/<c>_m</c>/<c>_l</c>):
/// TensorFlow's "SAME" padding and batch norm eps 1e-3, momentum 0.01, for the weights trained in TensorFlow (Noisy
/// Student, AdvProp, ImageNet-21k).
/// </summary>
public static class EfficientNetVariants
{
    const double LargeEpsilon = 1e-3, LargeMomentum = 0.01;

    //                                            width, depth, resolution, dropout
    /// <summary>EfficientNet-B0: the baseline (1.0, 1.0, 224, 0.2).</summary>
    public static EfficientNetScaling B0 { get; } = new("b0", 1.0, 1.0, 224, 0.2);
    /// <summary>EfficientNet-B1 (1.0, 1.1, 240, 0.2).</summary>
    public static EfficientNetScaling B1 { get; } = new("b1", 1.0, 1.1, 240, 0.2);
    /// <summary>EfficientNet-B2 (1.1, 1.2, 260, 0.3).</summary>
    public static EfficientNetScaling B2 { get; } = new("b2", 1.1, 1.2, 260, 0.3);
    /// <summary>EfficientNet-B3 (1.2, 1.4, 300, 0.3).</summary>
    public static EfficientNetScaling B3 { get; } = new("b3", 1.2, 1.4, 300, 0.3);
    /// <summary>EfficientNet-B4 (1.4, 1.8, 380, 0.4).</summary>
    public static EfficientNetScaling B4 { get; } = new("b4", 1.4, 1.8, 380, 0.4);
    /// <summary>EfficientNet-B5 (1.6, 2.2, 456, 0.4), batch norm eps 1e-3, momentum 0.01.</summary>
    public static EfficientNetScaling B5 { get; } = new("b5", 1.6, 2.2, 456, 0.4, LargeEpsilon, LargeMomentum);
    /// <summary>EfficientNet-B6 (1.8, 2.6, 528, 0.5), batch norm eps 1e-3, momentum 0.01.</summary>
    public static EfficientNetScaling B6 { get; } = new("b6", 1.8, 2.6, 528, 0.5, LargeEpsilon, LargeMomentum);
    /// <summary>EfficientNet-B7 (2.0, 3.1, 600, 0.5), batch norm eps 1e-3, momentum 0.01.</summary>
    public static EfficientNetScaling B7 { get; } = new("b7", 2.0, 3.1, 600, 0.5, LargeEpsilon, LargeMomentum);

    /// <summary>EfficientNetV2-S (Tan and Le, 2021): 384 pixels (torchvision's evaluation size), dropout 0.2, batch norm eps 1e-3.</summary>
    public static EfficientNetScaling V2S { get; } = new("v2_s", 1.0, 1.0, 384, 0.2, LargeEpsilon) { Blocks = BlockTable.V2S };
    /// <summary>EfficientNetV2-M: 480 pixels, dropout 0.3, batch norm eps 1e-3.</summary>
    public static EfficientNetScaling V2M { get; } = new("v2_m", 1.0, 1.0, 480, 0.3, LargeEpsilon) { Blocks = BlockTable.V2M };
    /// <summary>EfficientNetV2-L: 480 pixels, dropout 0.4, batch norm eps 1e-3.</summary>
    public static EfficientNetScaling V2L { get; } = new("v2_l", 1.0, 1.0, 480, 0.4, LargeEpsilon) { Blocks = BlockTable.V2L };

    /// <summary>The prefix of the TensorFlow-padded variants' names: "tf_b0", "tf_v2_s".</summary>
    public const string TensorFlowPrefix = "tf_";

    /// <summary>torchvision's eleven: b0 to b7, then v2_s, v2_m, v2_l.</summary>
    public static IReadOnlyList<EfficientNetScaling> Torchvision { get; } = new[] { B0, B1, B2, B3, B4, B5, B6, B7, V2S, V2M, V2L };

    /// <summary>
    /// The same networks as TensorFlow builds them, "tf_b0" to "tf_b7", "tf_v2_s", "tf_v2_m", "tf_v2_l": "SAME" padding,
    /// batch norm eps 1e-3 and momentum 0.01 (TensorFlow's decay 0.99); channels, blocks, resolution and dropout as torchvision's.
    /// </summary>
    public static IReadOnlyList<EfficientNetScaling> TensorFlow { get; } = Torchvision.Select(variant => variant with
    {
        Name = TensorFlowPrefix + variant.Name, BatchNormEpsilon = LargeEpsilon, BatchNormMomentum = LargeMomentum, Padding = ConvPadding.Same,
    }).ToArray();

    /// <summary>All twenty-two: torchvision's, then the TensorFlow-padded ones.</summary>
    public static IReadOnlyList<EfficientNetScaling> All { get; } = Torchvision.Concat(TensorFlow).ToArray();

    /// <summary>The valid names: "b0" to "b7", "v2_s", "v2_m", "v2_l", then the same with "tf_" before them.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(variant => variant.Name).ToArray();

    /// <summary>
    /// The variant with this name, case-insensitive: "b0".."b7", "v2_s", "v2_m", "v2_l", "tf_b0".."tf_v2_l"; also with
    /// torchvision's and timm's prefixes ("efficientnet_b3", "efficientnet_v2_s", "tf_efficientnet_b3", "tf_efficientnetv2_s"),
    /// and "-" for "_" ("v2-s").
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a variant; the message lists the valid ones.</exception>
    public static EfficientNetScaling Get(string name) => Find(name)
        ?? throw new ArgumentException($"Unknown EfficientNet version '{name}'. Valid versions: {string.Join(", ", Names)} (also written like efficientnet_b3, v2-s or tf_efficientnetv2_s).", nameof(name));

    /// <summary>The variant with this name (as <see cref="Get"/> reads it), or null.</summary>
    public static EfficientNetScaling? Find(string? name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant().Replace('-', '_');
        var prefix = key.StartsWith(TensorFlowPrefix, StringComparison.Ordinal) ? TensorFlowPrefix : "";
        key = key[prefix.Length..];
        if (key.StartsWith("efficientnet_", StringComparison.Ordinal))
            key = key["efficientnet_".Length..];
        else if (prefix.Length > 0 && key.StartsWith("efficientnetv2_", StringComparison.Ordinal)) // timm's tf_efficientnetv2_s
            key = "v2_" + key["efficientnetv2_".Length..];
        return All.FirstOrDefault(variant => variant.Name == prefix + key);
    }
}

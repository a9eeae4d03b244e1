namespace EfficientNet.MLNet.Network;

/// <summary>The paper's eight variants, b0 to b7, with torchvision's batch-norm settings.</summary>
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

    /// <summary>All eight, b0 first.</summary>
    public static IReadOnlyList<EfficientNetScaling> All { get; } = new[] { B0, B1, B2, B3, B4, B5, B6, B7 };

    /// <summary>The valid names, "b0" to "b7".</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(variant => variant.Name).ToArray();

    /// <summary>The variant with this name ("b0".."b7", case-insensitive, "efficientnet_b3" accepted too).</summary>
    /// <exception cref="ArgumentException">The name is not a variant; the message lists the valid ones.</exception>
    public static EfficientNetScaling Get(string name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        if (key.StartsWith("efficientnet_", StringComparison.Ordinal) || key.StartsWith("efficientnet-", StringComparison.Ordinal))
            key = key["efficientnet_".Length..];
        return All.FirstOrDefault(variant => variant.Name == key)
            ?? throw new ArgumentException($"Unknown EfficientNet version '{name}'. Valid versions: {string.Join(", ", Names)}.", nameof(name));
    }
}

using System.Diagnostics;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// The compound scaling rule of Tan and Le (2019): for a compound coefficient phi,
/// depth = alpha^phi, width = beta^phi, resolution = 224 * gamma^phi, with alpha * beta^2 * gamma^2 close to 2
/// so that each step of phi roughly doubles the multiply-adds. The paper found alpha 1.2, beta 1.1, gamma 1.15
/// by grid search on B0. It is V1's rule: it grows <see cref="BlockTable.V1"/> (b0) into b1..b7. EfficientNetV2's S, M and
/// L are separate block tables, not points on this curve.
/// </summary>
/// <remarks>
/// The published b1..b7 were tuned by hand after that search, so <see cref="EfficientNetVariants"/> (the
/// paper's table, which torchvision follows) differs from <see cref="Scale"/> at the same phi. Use the variants
/// to match pretrained weights, and this class for your own point on the curve.
/// </remarks>
public sealed record CompoundScaling
{
    /// <summary>How far alpha * beta^2 * gamma^2 may stray from 2 before <see cref="Warning"/> says so.</summary>
    public const double FlopsGrowthTolerance = 0.2;

    /// <summary>The resolution B0 was designed for; compound scaling multiplies it by gamma^phi.</summary>
    public const int BaseResolution = 224;

    /// <summary>The paper's coefficients: alpha 1.2, beta 1.1, gamma 1.15.</summary>
    public static CompoundScaling Paper { get; } = new();

    /// <summary>Creates a scaling rule; each coefficient must be at least 1 (scaling never shrinks B0).</summary>
    /// <param name="alpha">Depth coefficient.</param>
    /// <param name="beta">Width coefficient.</param>
    /// <param name="gamma">Resolution coefficient.</param>
    /// <exception cref="ArgumentOutOfRangeException">A coefficient is below 1 or not a number.</exception>
    public CompoundScaling(double alpha = 1.2, double beta = 1.1, double gamma = 1.15)
    {
        Alpha = RequireAtLeastOne(alpha, nameof(alpha), "depth");
        Beta = RequireAtLeastOne(beta, nameof(beta), "width");
        Gamma = RequireAtLeastOne(gamma, nameof(gamma), "resolution");
        if (Warning is { } warning)
            Trace.TraceWarning(warning);
    }

    /// <summary>Depth coefficient: depth multiplier = alpha^phi.</summary>
    public double Alpha { get; }

    /// <summary>Width coefficient: width multiplier = beta^phi.</summary>
    public double Beta { get; }

    /// <summary>Resolution coefficient: resolution = 224 * gamma^phi.</summary>
    public double Gamma { get; }

    /// <summary>alpha * beta^2 * gamma^2: how much the multiply-adds grow per unit of phi (the paper aims at 2).</summary>
    public double FlopsGrowthPerPhi => Alpha * Beta * Beta * Gamma * Gamma;

    /// <summary>A warning when <see cref="FlopsGrowthPerPhi"/> is far from 2, otherwise null.</summary>
    public string? Warning => Math.Abs(FlopsGrowthPerPhi - 2) > FlopsGrowthTolerance
        ? $"alpha * beta^2 * gamma^2 = {FlopsGrowthPerPhi:0.###} (alpha {Alpha}, beta {Beta}, gamma {Gamma}); the paper keeps it near 2 so that each step of phi doubles the cost. Expect cost to grow by {FlopsGrowthPerPhi:0.##}x per step."
        : null;

    /// <summary>Depth multiplier at phi: alpha^phi.</summary>
    public double DepthMultiplier(double phi) => Math.Pow(Alpha, RequirePhi(phi));

    /// <summary>Width multiplier at phi: beta^phi.</summary>
    public double WidthMultiplier(double phi) => Math.Pow(Beta, RequirePhi(phi));

    /// <summary>Resolution at phi: 224 * gamma^phi, rounded to the nearest pixel.</summary>
    public int Resolution(double phi) => (int)Math.Round(BaseResolution * Math.Pow(Gamma, RequirePhi(phi)));

    /// <summary>The network at compound coefficient phi.</summary>
    /// <param name="phi">The compound coefficient (0 is B0).</param>
    /// <param name="dropoutRate">Dropout before the classifier; default: B0's (the seed goes from 0.2 at phi 0 up to 0.5 at phi 6).</param>
    /// <param name="name">A name for the result; default "phi{phi}".</param>
    public EfficientNetScaling Scale(double phi, double? dropoutRate = null, string? name = null) =>
        new EfficientNetScaling(name ?? $"phi{phi}", WidthMultiplier(phi), DepthMultiplier(phi), Resolution(phi), dropoutRate ?? EfficientNetVariants.B0.DropoutRate).Validate();

    /// <summary>
    /// The seed's phi for each variant name: b0 phi 0, b1 0.5, b2 1, b3 2, b4 3, b5 4, b6 5, b7 6. The resolutions and
    /// dropout rates that go with them are the variants' (<see cref="EfficientNetVariants"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, double> SeedPhiTable { get; } = new Dictionary<string, double>
    {
        ["b0"] = 0, ["b1"] = 0.5, ["b2"] = 1, ["b3"] = 2, ["b4"] = 3, ["b5"] = 4, ["b6"] = 5, ["b7"] = 6,
    };

    /// <summary>
    /// The seed's network for a name of its phi table: width beta^phi and depth alpha^phi from these coefficients,
    /// resolution and dropout from the variant of that name.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not in the table; the message lists the valid ones.</exception>
    public EfficientNetScaling FromSeedPhiTable(string name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        if (!SeedPhiTable.TryGetValue(key, out var phi))
            throw new ArgumentException($"Unknown phi-table name '{name}'. Valid names: {string.Join(", ", SeedPhiTable.Keys)}.", nameof(name));
        var variant = EfficientNetVariants.Get(key);
        return new EfficientNetScaling(key, WidthMultiplier(phi), DepthMultiplier(phi), variant.Resolution, variant.DropoutRate).Validate();
    }

    static double RequireAtLeastOne(double value, string parameter, string what) =>
        value >= 1 && !double.IsInfinity(value)
            ? value
            : throw new ArgumentOutOfRangeException(parameter, value,
                $"The {what} coefficient {parameter} must be a finite number of at least 1 (the paper uses alpha 1.2, beta 1.1, gamma 1.15); a value below 1 would shrink the network as phi grows.");

    static double RequirePhi(double phi) =>
        phi >= 0 && !double.IsInfinity(phi)
            ? phi
            : throw new ArgumentOutOfRangeException(nameof(phi), phi, "phi must be a finite number of at least 0 (0 is B0).");
}

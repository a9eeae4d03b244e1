namespace EfficientNet.MLNet;

/// <summary>
/// How a multi-label model is trained (<see cref="EfficientNetTrainer.Options.MultiLabel"/>; set by
/// <c>mlContext.MulticlassClassification.Trainers.EfficientNetMultiLabel</c>). Plain data, validated with the trainer's
/// options. docs/TRAINING.md measures the defaults.
/// </summary>
public sealed record MultiLabelOptions
{
    /// <summary>What separates the labels in a text label column ("dog;person"). Vectors of text or keys need none.</summary>
    public char Separator { get; init; } = ';';

    /// <summary>
    /// The label names, in the order of the model's outputs; null (the default): the training data's (a text column's
    /// distinct labels in ordinal order, a key vector's key values). Give them when a label may be missing from the
    /// training rows, e.g. a rare label whose rows were all split into the validation data; every row's labels must be
    /// among them.
    /// </summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>The loss: binary cross-entropy (the default) or the asymmetric loss.</summary>
    public MultiLabelLossKind Loss { get; init; } = MultiLabelLossKind.BinaryCrossEntropy;

    /// <summary>
    /// Weights on each label's positives in binary cross-entropy: negatives / positives of the training rows, at least 1
    /// and at most <see cref="MaximumPositiveWeight"/>, so that a label on few images is not learned as "never". On by
    /// default: on the digit canvases (a label on a quarter of the images, weight 3) it raised the test mAP on every seed,
    /// 0.769 to 0.787 (docs/TRAINING.md, "Multi-label").
    /// </summary>
    public bool PositiveWeights { get; init; } = true;

    /// <summary>The largest weight on a label's positives (a label seen once would otherwise weigh thousands).</summary>
    public const float MaximumPositiveWeight = 10;

    /// <summary>The asymmetric loss's focusing of the positives, γ+ (0 in the paper).</summary>
    public double GammaPositive { get; init; }

    /// <summary>The asymmetric loss's focusing of the negatives, γ- (4 in the paper).</summary>
    public double GammaNegative { get; init; } = 4;

    /// <summary>The asymmetric loss's probability margin: a negative below it costs nothing (0.05 in the paper).</summary>
    public double Clip { get; init; } = 0.05;

    /// <summary>
    /// How each label's decision threshold is chosen on the validation rows after training: null (the default) for the
    /// highest F1; a number in (0, 1] for the most recall at that precision or better. Without validation rows (no
    /// ValidationSet, ValidationFraction 0) or for a label no validation row has, the threshold is 0.5. Thresholds can be
    /// changed after training: <see cref="EfficientNetTransformer.SetThresholds"/>, <see cref="EfficientNetTransformer.ChooseThresholds"/>.
    /// </summary>
    public double? PrecisionTarget { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal MultiLabelOptions Validate()
    {
        static void Require(bool ok, string option, string expected, object? actual)
        {
            if (!ok) throw new ArgumentException($"EfficientNetTrainer.Options.MultiLabel.{option} must be {expected}; got {actual ?? "null"}.", option);
        }
        Require((!char.IsWhiteSpace(Separator) || Separator == '\t') && !char.IsSurrogate(Separator) && !char.IsControl(Separator) || Separator == '\t', nameof(Separator),
            "a character that is not a space (';', ',', '|', a tab)", $"'{Separator}'");
        Require(Enum.IsDefined(Loss), nameof(Loss), "BinaryCrossEntropy or Asymmetric", Loss);
        Require(Labels is null || Labels.Count >= 2 && Labels.All(l => !string.IsNullOrWhiteSpace(l) && l.Trim() == l && !l.Contains(Separator)) && Labels.Distinct(StringComparer.Ordinal).Count() == Labels.Count,
            nameof(Labels), $"null, or at least 2 distinct names without surrounding spaces or the separator '{Separator}'", Labels is null ? null : string.Join(", ", Labels));
        Require(GammaPositive is >= 0 and <= 10, nameof(GammaPositive), "in [0, 10]", GammaPositive);
        Require(GammaNegative is >= 0 and <= 10, nameof(GammaNegative), "in [0, 10]", GammaNegative);
        Require(Clip is >= 0 and < 1, nameof(Clip), "in [0, 1)", Clip);
        Require(PrecisionTarget is null or (> 0 and <= 1), nameof(PrecisionTarget), "in (0, 1], or null for the highest F1", PrecisionTarget);
        return this;
    }

    /// <summary>How the thresholds were chosen, as stored in the model: "f1" or "precision>=P".</summary>
    internal string ThresholdPolicy => PrecisionTarget is { } target
        ? FormattableString.Invariant($"precision>={target}")
        : "f1";
}

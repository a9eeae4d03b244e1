using System.Globalization;
using EfficientNet.MLNet.MultiLabel;

namespace EfficientNet.MLNet.Tasks;

/// <summary>A multi-label model's decision thresholds, one per label, chosen on held-out rows as the policy says.</summary>
internal static class ThresholdChoice
{
    /// <summary>Per label: the highest-F1 threshold, or (with <paramref name="precisionTarget"/>) the most recall at that precision; 0.5 for a label no row has.</summary>
    /// <param name="scores">Per row, one probability per label.</param>
    /// <param name="labels">Per row, its labels (0-based).</param>
    /// <param name="width">The number of labels.</param>
    /// <param name="precisionTarget">Null for F1.</param>
    public static float[] Choose(IReadOnlyList<float[]> scores, IReadOnlyList<int[]> labels, int width, double? precisionTarget) =>
        Enumerable.Range(0, width).Select(label =>
        {
            var column = scores.Select(s => s[label]).ToArray();
            var has = labels.Select(l => l.Contains(label)).ToArray();
            return precisionTarget is { } target ? DecisionThresholds.ForPrecision(column, has, target) : DecisionThresholds.BestF1(column, has);
        }).ToArray();

    /// <summary>"name 0.43, name 0.5, ..." for the log.</summary>
    public static string Describe(IReadOnlyList<string> names, IReadOnlyList<float> thresholds) =>
        string.Join(", ", names.Select((name, i) => string.Create(CultureInfo.InvariantCulture, $"{name} {thresholds[i]:0.###}")));

    /// <summary>The thresholds as stored: one per label, each a number in [0, 1] (1 + a little: never predicted is allowed).</summary>
    /// <exception cref="ArgumentException">Another count, or a value out of range.</exception>
    /// <param name="thresholds">The thresholds given.</param>
    /// <param name="names">The labels.</param>
    /// <param name="parameter">The caller's parameter name, for the exception.</param>
    public static float[] Check(IReadOnlyList<float> thresholds, IReadOnlyList<string> names, string parameter = "thresholds")
    {
        if (thresholds.Count != names.Count)
            throw new ArgumentException($"{thresholds.Count} thresholds for {names.Count} labels ({string.Join(", ", names)}): give one per label, in the order of the label names.", parameter);
        for (var i = 0; i < thresholds.Count; i++)
            if (!(thresholds[i] >= 0 && thresholds[i] <= 1.001f))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The threshold of '{names[i]}' is {thresholds[i]}; expected a probability in [0, 1] (a row has the label when its probability is at least the threshold)."), parameter);
        return thresholds.ToArray();
    }
}

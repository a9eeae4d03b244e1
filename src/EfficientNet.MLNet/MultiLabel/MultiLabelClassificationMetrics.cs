namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// How well probabilities of several labels per row match the rows' label sets, defined as scikit-learn defines them:
/// mean average precision over the labels that occur (macro), micro and macro precision, recall and F1 of the decisions
/// (probability at least the label's threshold), Hamming loss (the part of all row-label decisions that are wrong),
/// subset accuracy (rows whose whole set is right), and every label's own figures. The evaluation of multi-label models
///; what EvaluateMultiLabel returns.
/// </summary>
public sealed record MultiLabelClassificationMetrics(
    double MeanAveragePrecision,
    double MicroPrecision, double MicroRecall, double MicroF1,
    double MacroPrecision, double MacroRecall, double MacroF1,
    double HammingLoss, double SubsetAccuracy,
    IReadOnlyList<LabelMetrics> PerLabel)
{
    /// <summary>The figures of <paramref name="scores"/> (one probability per label per row) against <paramref name="truth"/>.</summary>
    /// <param name="scores">Per row, one probability per label, in <paramref name="labels"/>' order.</param>
    /// <param name="truth">Per row, whether it has each label.</param>
    /// <param name="labels">The labels' names.</param>
    /// <param name="thresholds">Per label, the probability from which a row is predicted to have it.</param>
    /// <exception cref="ArgumentException">The rows or labels do not line up; no rows.</exception>
    public static MultiLabelClassificationMetrics Compute(IReadOnlyList<float[]> scores, IReadOnlyList<bool[]> truth, IReadOnlyList<string> labels, IReadOnlyList<float> thresholds)
    {
        if (scores.Count == 0 || scores.Count != truth.Count)
            throw new ArgumentException($"{scores.Count} rows of scores for {truth.Count} rows of labels: give one of each per row, at least one row.", nameof(scores));
        if (thresholds.Count != labels.Count)
            throw new ArgumentException($"{thresholds.Count} thresholds for {labels.Count} labels.", nameof(thresholds));
        for (var row = 0; row < scores.Count; row++)
            if (scores[row].Length != labels.Count || truth[row].Length != labels.Count)
                throw new ArgumentException($"Row {row} has {scores[row].Length} scores and {truth[row].Length} label flags; expected {labels.Count} of each.", nameof(scores));

        var perLabel = new List<LabelMetrics>(labels.Count);
        long allTruePositives = 0, allFalsePositives = 0, allFalseNegatives = 0, wrongDecisions = 0;
        for (var label = 0; label < labels.Count; label++)
        {
            var column = scores.Select(s => s[label]).ToArray();
            var has = truth.Select(t => t[label]).ToArray();
            int truePositives = 0, falsePositives = 0, falseNegatives = 0;
            for (var row = 0; row < column.Length; row++)
            {
                var predicted = column[row] >= thresholds[label];
                if (predicted && has[row]) truePositives++;
                else if (predicted) falsePositives++;
                else if (has[row]) falseNegatives++;
            }
            allTruePositives += truePositives;
            allFalsePositives += falsePositives;
            allFalseNegatives += falseNegatives;
            wrongDecisions += falsePositives + falseNegatives;
            var (precision, recall, f1) = Rates(truePositives, falsePositives, falseNegatives);
            perLabel.Add(new LabelMetrics(labels[label], AveragePrecision.Of(column, has), precision, recall, f1, truePositives + falseNegatives, thresholds[label]));
        }
        var (microPrecision, microRecall, microF1) = Rates(allTruePositives, allFalsePositives, allFalseNegatives);
        var subsetRight = Enumerable.Range(0, scores.Count)
            .Count(row => Enumerable.Range(0, labels.Count).All(label => (scores[row][label] >= thresholds[label]) == truth[row][label]));
        return new MultiLabelClassificationMetrics(
            AveragePrecision.Mean(perLabel.Select(l => l.AveragePrecision)),
            microPrecision, microRecall, microF1,
            perLabel.Average(l => l.Precision), perLabel.Average(l => l.Recall), perLabel.Average(l => l.F1),
            (double)wrongDecisions / ((long)scores.Count * labels.Count), (double)subsetRight / scores.Count,
            perLabel);
    }

    // Precision, recall and F1 from the counts, 0 where a ratio has nothing to divide by (scikit-learn's zero_division=0).
    static (double Precision, double Recall, double F1) Rates(long truePositives, long falsePositives, long falseNegatives)
    {
        var precision = truePositives + falsePositives == 0 ? 0 : (double)truePositives / (truePositives + falsePositives);
        var recall = truePositives + falseNegatives == 0 ? 0 : (double)truePositives / (truePositives + falseNegatives);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return (precision, recall, f1);
    }
}

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// Average precision of one label's scores, as scikit-learn's average_precision_score computes it: the precision at
/// each distinct score (ties taken together), weighted by the recall it adds, with no interpolation.
/// </summary>
internal static class AveragePrecision
{
    /// <summary>The label's average precision, or NaN when no row has the label (recall is undefined).</summary>
    /// <param name="scores">The label's probability per row.</param>
    /// <param name="positive">Whether each row has the label.</param>
    public static double Of(IReadOnlyList<float> scores, IReadOnlyList<bool> positive)
    {
        var cuts = ScoreRanking.Of(scores, positive);
        var positives = positive.Count(p => p);
        if (positives == 0)
            return double.NaN;
        double previousRecall = 0, sum = 0;
        foreach (var cut in cuts)
        {
            var recall = (double)cut.TruePositives / positives;
            sum += (recall - previousRecall) * cut.TruePositives / cut.Predicted;
            previousRecall = recall;
        }
        return sum;
    }

    /// <summary>The mean average precision: the mean over the labels some row has (NaN ones left out); NaN when none has any.</summary>
    public static double Mean(IEnumerable<double> averagePrecisions)
    {
        var occurring = averagePrecisions.Where(ap => !double.IsNaN(ap)).ToList();
        return occurring.Count == 0 ? double.NaN : occurring.Average();
    }
}

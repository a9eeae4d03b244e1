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
        if (scores.Count != positive.Count)
            throw new ArgumentException($"{scores.Count} scores for {positive.Count} rows.", nameof(scores));
        Finite(scores);
        var positives = positive.Count(p => p);
        if (positives == 0)
            return double.NaN;
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double truePositives = 0, seen = 0, previousRecall = 0, sum = 0;
        for (var k = 0; k < order.Length;)
        {
            // Every row of this score at once: a threshold cannot fall between equal scores.
            var score = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == score; k++)
            {
                seen++;
                if (positive[order[k]])
                    truePositives++;
            }
            var recall = truePositives / positives;
            sum += (recall - previousRecall) * (truePositives / seen);
            previousRecall = recall;
        }
        return sum;
    }

    /// <summary>Refuses a score that is not a number (a diverged model's): it cannot be ranked.</summary>
    /// <exception cref="ArgumentException">Row R's score is NaN or infinite.</exception>
    public static void Finite(IReadOnlyList<float> scores)
    {
        for (var row = 0; row < scores.Count; row++)
            if (!float.IsFinite(scores[row]))
                throw new ArgumentException($"Row {row}'s probability is {scores[row]}: the scores to rank must be numbers (did training diverge?).", nameof(scores));
    }
}

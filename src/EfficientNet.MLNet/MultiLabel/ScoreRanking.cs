namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// One label's rows ranked by probability, highest first, as the cut-offs a threshold can make: for each distinct
/// probability (ties together: a threshold cannot fall between equal scores), the rows predicted when everything from it
/// up is, the true positives among them, and the next lower probability. What average precision and threshold choice
/// both walk.
/// </summary>
internal static class ScoreRanking
{
    /// <summary>A cut-off: rows scoring at least <paramref name="Score"/> are predicted.</summary>
    /// <param name="Score">The lowest probability predicted.</param>
    /// <param name="Lower">The next lower probability, or null below the last.</param>
    /// <param name="TruePositives">Predicted rows that have the label.</param>
    /// <param name="Predicted">Predicted rows.</param>
    public readonly record struct Cut(float Score, float? Lower, long TruePositives, long Predicted);

    /// <summary>The cut-offs from the highest probability down, after checking the inputs.</summary>
    /// <exception cref="ArgumentException">Counts that differ; a probability that is NaN or infinite (it cannot be ranked).</exception>
    public static IReadOnlyList<Cut> Of(IReadOnlyList<float> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count)
            throw new ArgumentException($"{scores.Count} scores for {positive.Count} rows.", nameof(scores));
        for (var row = 0; row < scores.Count; row++)
            if (!float.IsFinite(scores[row]))
                throw new ArgumentException($"Row {row}'s probability is {scores[row]}: the scores to rank must be numbers (did training diverge?).", nameof(scores));
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var cuts = new List<Cut>();
        long truePositives = 0, predicted = 0;
        for (var k = 0; k < order.Length;)
        {
            var score = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == score; k++)
            {
                predicted++;
                if (positive[order[k]])
                    truePositives++;
            }
            cuts.Add(new Cut(score, k < order.Length ? scores[order[k]] : null, truePositives, predicted));
        }
        return cuts;
    }
}

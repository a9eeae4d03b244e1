namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// Per-label decision thresholds chosen on held-out rows: a row has a label when its probability is at least the
/// label's threshold. Candidates lie midway between neighbouring distinct probabilities of the label (so that the two
/// scoring engines' rounding, a few 1e-6, rarely moves a row across), below the lowest and above the highest.
/// </summary>
internal static class DecisionThresholds
{
    /// <summary>The threshold used for a label no held-out row has, or when no candidate meets a precision target.</summary>
    public const float Default = 0.5f;

    /// <summary>The threshold of highest F1 on the rows (the highest such threshold on a tie: fewer labels predicted).</summary>
    /// <param name="scores">The label's probability per row.</param>
    /// <param name="positive">Whether each row has the label.</param>
    public static float BestF1(IReadOnlyList<float> scores, IReadOnlyList<bool> positive) =>
        Choose(scores, positive, (truePositives, predicted, positives) =>
            predicted + positives == 0 ? 0 : 2.0 * truePositives / (predicted + positives), minimum: double.NegativeInfinity);

    /// <summary>
    /// The threshold of most recall whose precision on the rows is at least <paramref name="precision"/> (the highest such
    /// threshold on a tie), or <see cref="Default"/> when none reaches it.
    /// </summary>
    public static float ForPrecision(IReadOnlyList<float> scores, IReadOnlyList<bool> positive, double precision) =>
        Choose(scores, positive, (truePositives, predicted, positives) =>
            predicted == 0 || (double)truePositives / predicted < precision ? double.NegativeInfinity : (double)truePositives / positives, minimum: 0);

    // Walks the candidates from the highest down, keeping the first best value of 'objective' (true positives,
    // predicted, positives), which must exceed 'minimum' (the highest threshold wins a tie).
    static float Choose(IReadOnlyList<float> scores, IReadOnlyList<bool> positive, Func<long, long, long, double> objective, double minimum)
    {
        var cuts = ScoreRanking.Of(scores, positive);
        var positives = positive.Count(p => p);
        if (positives == 0)
            return Default;
        // Above the highest probability: nothing predicted.
        var highest = cuts[0].Score;
        var best = objective(0, 0, positives);
        var chosen = best > minimum ? (highest < 1 ? (highest + 1) / 2 : 1 + 1e-6f) : (float?)null;
        foreach (var cut in cuts)
        {
            var value = objective(cut.TruePositives, cut.Predicted, positives);
            // Everything from this score up is predicted: the threshold lies midway to the next lower score.
            var threshold = Between(cut.Score, cut.Lower ?? 0);
            if (value > minimum && (chosen is null || value > best))
            {
                best = value;
                chosen = threshold;
            }
        }
        return chosen ?? Default;
    }

    // Midway from 'lower' up to 'score' (which then counts as reached: p >= t); 'score' itself where the two are
    // neighbouring floats and the midpoint would round onto 'lower'.
    static float Between(float score, float lower)
    {
        var middle = (score + lower) / 2;
        return middle > lower ? middle : score;
    }
}

using EfficientNet.MLNet.MultiLabel;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>Thresholds chosen on held-out rows against every threshold tried by brute force on the same rows.</summary>
public class DecisionThresholdsTests
{
    static (float[] Scores, bool[] Positive) Label(int seed, double prevalence)
    {
        var random = new Random(seed);
        var positive = Enumerable.Range(0, 300).Select(_ => random.NextDouble() < prevalence).ToArray();
        var scores = positive.Select(p => MathF.Round(Math.Clamp((p ? 0.55f : 0.35f) + (float)(random.NextDouble() - 0.5) * 0.8f, 0, 1), 2)).ToArray();
        return (scores, positive);
    }

    static (double Precision, double Recall, double F1) At(float[] scores, bool[] positive, float threshold)
    {
        var metrics = MultiLabelClassificationMetrics.Compute(scores.Select(s => new[] { s }).ToList(), positive.Select(p => new[] { p }).ToList(), ["label"], [threshold]).PerLabel[0];
        return (metrics.Precision, metrics.Recall, metrics.F1);
    }

    // Every distinct probability, and beyond both ends: the thresholds that make a difference.
    static IEnumerable<float> Tried(float[] scores) => scores.Distinct().Append(0f).Append(1.01f);

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(2, 0.3)]
    [InlineData(3, 0.6)]
    public void The_F1_threshold_gives_the_best_F1_any_threshold_gives(int seed, double prevalence)
    {
        var (scores, positive) = Label(seed, prevalence);

        var threshold = DecisionThresholds.BestF1(scores, positive);

        var best = Tried(scores).Max(t => At(scores, positive, t).F1);
        Assert.Equal(best, At(scores, positive, threshold).F1, 12);
        Assert.DoesNotContain(threshold, scores); // midway between probabilities, never on one
    }

    [Theory]
    [InlineData(1, 0.3, 0.8)]
    [InlineData(2, 0.5, 0.9)]
    public void The_precision_threshold_gives_the_most_recall_at_that_precision(int seed, double prevalence, double target)
    {
        var (scores, positive) = Label(seed, prevalence);

        var threshold = DecisionThresholds.ForPrecision(scores, positive, target);

        var reachable = Tried(scores).Select(t => At(scores, positive, t)).Where(m => m.Precision >= target && m.Recall > 0).ToList();
        Assert.NotEmpty(reachable);
        var chosen = At(scores, positive, threshold);
        Assert.True(chosen.Precision >= target, $"precision {chosen.Precision} below {target}");
        Assert.Equal(reachable.Max(m => m.Recall), chosen.Recall, 12);
    }

    [Fact]
    public void A_label_no_row_has_or_an_unreachable_precision_keeps_the_default()
    {
        Assert.Equal(DecisionThresholds.Default, DecisionThresholds.BestF1([0.2f, 0.9f], [false, false]));
        Assert.Equal(DecisionThresholds.Default, DecisionThresholds.ForPrecision([0.9f, 0.8f, 0.1f], [false, false, true], 0.99));
        Assert.Equal(0.85f, DecisionThresholds.BestF1([0.9f, 0.8f, 0.1f], [true, false, false]), 6); // midway below the one positive
    }

    [Fact]
    public void Neighbouring_floats_keep_the_lower_one_out_and_a_NaN_score_is_refused()
    {
        var above = MathF.BitIncrement(0.5f); // the float right above 0.5: their midpoint rounds onto 0.5
        var threshold = DecisionThresholds.BestF1([above, 0.5f], [true, false]);

        Assert.True(above >= threshold && 0.5f < threshold, $"threshold {threshold} does not separate {above} from 0.5");
        var refused = Assert.Throws<ArgumentException>(() => DecisionThresholds.BestF1([0.3f, float.NaN], [true, false]));
        Assert.Contains("Row 1's probability is NaN", refused.Message);
        Assert.Throws<ArgumentException>(() => AveragePrecision.Of([float.NaN], [true]));
    }
}

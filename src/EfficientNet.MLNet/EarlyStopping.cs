namespace EfficientNet.MLNet;

/// <summary>What early stopping watches.</summary>
public enum EarlyStoppingMetric
{
    /// <summary>Validation loss (lower is better).</summary>
    ValidationLoss,
    /// <summary>Validation accuracy (higher is better).</summary>
    ValidationAccuracy,
    /// <summary>A multi-label model's validation mean average precision (higher is better).</summary>
    ValidationMeanAveragePrecision,
}

/// <summary>Stop when the metric has not improved by <see cref="MinimumImprovement"/> for <see cref="Patience"/> epochs; the best epoch's weights are kept.</summary>
/// <param name="Metric">What to watch.</param>
/// <param name="Patience">Epochs without improvement before stopping.</param>
/// <param name="MinimumImprovement">The smallest change that counts as an improvement.</param>
public sealed record EarlyStopping(EarlyStoppingMetric Metric = EarlyStoppingMetric.ValidationLoss, int Patience = 3, double MinimumImprovement = 0)
{
    /// <summary>Whether <paramref name="candidate"/> beats <paramref name="best"/> by the minimum improvement.</summary>
    public bool IsImprovement(double candidate, double best) => Metric == EarlyStoppingMetric.ValidationLoss
        ? candidate < best - MinimumImprovement
        : candidate > best + MinimumImprovement;
}

namespace EfficientNet.MLNet;

/// <summary>Where training is after one batch: for progress bars and estimates of the time left.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="Batch">1-based batch within the epoch.</param>
/// <param name="BatchesPerEpoch">Batches in an epoch.</param>
/// <param name="Loss">Mean training loss of the epoch so far.</param>
/// <param name="Accuracy">Training accuracy of the epoch so far.</param>
/// <param name="Elapsed">Time since training started (after the images were read).</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double Loss, double Accuracy, TimeSpan Elapsed)
{
    /// <summary>The fraction of all planned batches done, 0 to 1.</summary>
    public double Fraction => ((Epoch - 1) * (double)BatchesPerEpoch + Batch) / (Epochs * (double)BatchesPerEpoch);

    /// <summary>Time left at the pace so far (validation passes not included), or null before the first batch.</summary>
    public TimeSpan? Remaining => Fraction > 0 ? Elapsed * ((1 - Fraction) / Fraction) : null;
}

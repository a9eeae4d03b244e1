namespace EfficientNet.MLNet.Training;

/// <summary>
/// The state after a finished epoch, as written to checkpoint.json: everything but the tensors, which live in the
/// files it names. The random state is not stored because it is derived from the seed and the epoch
/// (<see cref="EpochRandom"/>), so epoch N+1 draws the same numbers whether or not the process restarted.
/// </summary>
internal sealed record TrainingCheckpoint(
    int FormatVersion,
    CheckpointRun Run,
    int Epoch,
    long Step,
    IReadOnlyList<EpochMetrics> History,
    int BestEpoch,
    double? BestValue,
    bool Stopped,
    string WeightsFile,
    string OptimizerFile,
    string? BestWeightsFile)
{
    /// <summary>The format this library writes and reads.</summary>
    public const int CurrentFormatVersion = 1;
}

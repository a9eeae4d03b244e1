namespace EfficientNet.MLNet.Training;

/// <summary>
/// checkpoint.json: which run wrote the folder's files, its fingerprint, its state after the last finished epoch, and
/// the files that hold the tensors. Written last, it is the commit point of a checkpoint.
/// </summary>
/// <param name="FormatVersion">The manifest's format.</param>
/// <param name="Epoch">The last finished epoch (also in the state's history; here for people reading the file).</param>
/// <param name="RunId">The run that wrote the checkpoint; its files start with it, and it deletes no other files.</param>
/// <param name="Run">What the run computes: a resumed run must match it.</param>
/// <param name="State">Where the run stands.</param>
/// <param name="WeightsFile">The weights after the last finished epoch.</param>
/// <param name="OptimizerFile">The optimizer's state then.</param>
/// <param name="BestWeightsFile">Early stopping: the best epoch's weights, or null.</param>
/// <param name="AverageWeightsFile">ModelEma: the moving average of the weights after the last finished epoch, or null.</param>
internal sealed record TrainingCheckpoint(
    int FormatVersion,
    int Epoch,
    string RunId,
    RunFingerprint Run,
    TrainingState State,
    string WeightsFile,
    string OptimizerFile,
    string? BestWeightsFile,
    string? AverageWeightsFile)
{
    /// <summary>The format this library writes and reads (1 had no run id and fewer fields to compare; 2 no moving average and fewer options).</summary>
    public const int CurrentFormatVersion = 3;

    /// <summary>All the files the checkpoint names.</summary>
    public IEnumerable<string> Files => new[] { WeightsFile, OptimizerFile, BestWeightsFile, AverageWeightsFile }.OfType<string>();
}

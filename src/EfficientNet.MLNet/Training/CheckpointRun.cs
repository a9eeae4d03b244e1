namespace EfficientNet.MLNet.Training;

/// <summary>
/// What a checkpoint must agree on with the run that resumes it: a checkpoint of another model, data or schedule
/// would silently train something else, so any difference is an error naming the field.
/// </summary>
internal sealed record CheckpointRun(
    string Version, int ImageSize, int Classes, int TrainImages, int ValidationImages,
    int Epochs, int BatchSize, string Optimizer, double LearningRate, int Seed)
{
    /// <summary>The fields that differ, as "name: checkpoint X, this run Y".</summary>
    public IReadOnlyList<string> DifferencesFrom(CheckpointRun other)
    {
        var differences = new List<string>();
        void Compare<T>(string name, T saved, T current)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, current))
                differences.Add(FormattableString.Invariant($"{name}: checkpoint {saved}, this run {current}"));
        }
        Compare(nameof(Version), other.Version, Version);
        Compare(nameof(ImageSize), other.ImageSize, ImageSize);
        Compare(nameof(Classes), other.Classes, Classes);
        Compare(nameof(TrainImages), other.TrainImages, TrainImages);
        Compare(nameof(ValidationImages), other.ValidationImages, ValidationImages);
        Compare(nameof(Epochs), other.Epochs, Epochs);
        Compare(nameof(BatchSize), other.BatchSize, BatchSize);
        Compare(nameof(Optimizer), other.Optimizer, Optimizer);
        Compare(nameof(LearningRate), other.LearningRate, LearningRate);
        Compare(nameof(Seed), other.Seed, Seed);
        return differences;
    }
}

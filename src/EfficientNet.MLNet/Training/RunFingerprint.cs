using System.Text.Json;
using System.Text.Json.Serialization;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Everything that decides what a training run computes: the network, the data (row counts and a hash of the labels
/// in order), every option that changes the result, the pretrained weights (by content) and the seed. A checkpoint
/// is resumed only by a run with the same fingerprint; any difference is an error naming the field.
/// </summary>
internal sealed record RunFingerprint(
    string Version, int ImageSize, IReadOnlyList<string> Classes,
    int TrainImages, string TrainLabels, int ValidationImages, string ValidationLabels, double ValidationFraction, bool SkipUnreadableImages,
    int Epochs, int BatchSize, string Optimizer, double LearningRate, double WeightDecay, double Momentum,
    double WarmupEpochs, string Decay, double LabelSmoothing, double? DropoutRate, double StochasticDepthProbability,
    double? GradientClipNorm, bool Augment, double RandomCropMinimumScale, EarlyStopping? EarlyStopping,
    string? PretrainedWeights, bool UseEmaWeights, bool FreezeBackbone, int FrozenBackboneEpochs, double UnfrozenLearningRateFactor,
    bool FreezeBatchNormStatistics, ProgressiveLearning? ProgressiveLearning, int Seed,
    string AugmentationPolicy, int RandAugmentOperations, int RandAugmentMagnitude, double RandomErasingProbability, Mixup? Mixup, ModelEma? ModelEma,
    bool BalanceClasses, IReadOnlyDictionary<string, double>? ClassWeights, string? ExampleWeightColumnName, double? NormAndBiasWeightDecay, double LayerLearningRateDecay, bool HorizontalFlip,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MultiLabelOptions? MultiLabel = null)
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The fingerprint of a run of <paramref name="options"/> on the given data.</summary>
    public static RunFingerprint Of(EfficientNetTrainer.Options options, string version, int imageSize, IReadOnlyList<string> classes,
        TrainingImages train, TrainingImages? validation, string? pretrainedWeights, int seed) => new(
        version, imageSize, classes, train.Count, train.LabelFingerprint, validation?.Count ?? 0, validation?.LabelFingerprint ?? "",
        options.ValidationFraction, options.SkipUnreadableImages,
        options.Epochs, options.BatchSize, options.Optimizer.ToString(), options.LearningRate, options.WeightDecay, options.Momentum,
        options.WarmupEpochs, options.Decay.ToString(), options.LabelSmoothing, options.DropoutRate, options.StochasticDepthProbability,
        options.GradientClipNorm, options.AugmentInUse, options.RandomCropMinimumScale, options.EarlyStopping,
        pretrainedWeights, options.UseEmaWeights, options.FreezeBackbone, options.FrozenBackboneEpochs, options.UnfrozenLearningRateFactor,
        options.FreezeBatchNormStatistics, options.ProgressiveLearning, seed,
        options.AugmentationPolicy.ToString(), options.RandAugmentOperations, options.RandAugmentMagnitude, options.RandomErasingProbability, options.Mixup, options.ModelEma,
        options.BalanceClasses, options.ClassWeights is null ? null : new SortedDictionary<string, double>(options.ClassWeights.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal),
        options.ExampleWeightColumnName, options.NormAndBiasWeightDecay, options.LayerLearningRateDecay, options.HorizontalFlip, options.MultiLabel);

    /// <summary>The fields that differ, as "Name: checkpoint X, this run Y" (every field is compared, as written to JSON).</summary>
    public IReadOnlyList<string> DifferencesFrom(RunFingerprint saved)
    {
        var current = JsonSerializer.SerializeToElement(this, Json);
        var previous = JsonSerializer.SerializeToElement(saved, Json);
        return current.EnumerateObject()
            .Where(field => !previous.TryGetProperty(field.Name, out var value) || value.GetRawText() != field.Value.GetRawText())
            .Select(field => $"{char.ToUpperInvariant(field.Name[0])}{field.Name[1..]}: checkpoint {Text(previous, field.Name)}, this run {Text(current, field.Name)}")
            .ToList();
    }

    static string Text(JsonElement fingerprint, string name) =>
        !fingerprint.TryGetProperty(name, out var value) ? "(none)"
        : value.ValueKind switch { JsonValueKind.String => value.GetString()!, JsonValueKind.Null => "none", _ => value.GetRawText() };
}

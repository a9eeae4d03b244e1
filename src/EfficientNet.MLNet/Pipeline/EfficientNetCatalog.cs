using EfficientNet.MLNet;
using EfficientNet.MLNet.MLNetInternals;
using EfficientNet.MLNet.MultiLabel;

namespace Microsoft.ML;

/// <summary>
/// Adds <c>EfficientNet</c> and <c>EfficientNetMultiLabel</c> to <c>mlContext.MulticlassClassification.Trainers</c>, and
/// <c>EvaluateMultiLabel</c> to <c>mlContext.MulticlassClassification</c>.
/// </summary>
public static class EfficientNetCatalog
{
    /// <summary>
    /// An EfficientNet image classifier (b0 to b7, or EfficientNetV2 v2_s, v2_m, v2_l) trained with TorchSharp. The first
    /// five parameters are ImageClassification's, in its order, so Model Builder's generated code switches by changing
    /// only the trainer's name; the feature column is the image.
    /// </summary>
    /// <param name="catalog">mlContext.MulticlassClassification.Trainers.</param>
    /// <param name="labelColumnName">The label column, a key type (MapValueToKey) with at least 2 classes.</param>
    /// <param name="featureColumnName">The image column: MLImage (LoadImages), encoded bytes (LoadRawImageBytes, or a
    /// byte[] property such as Model Builder's ImageSource), or 3 x H x W floats (ExtractPixels).</param>
    /// <param name="scoreColumnName">The output column of class probabilities.</param>
    /// <param name="predictedLabelColumnName">The output key column of the most probable class.</param>
    /// <param name="validationSet">Data to report validation metrics on after each epoch.</param>
    /// <param name="version">"b0" to "b7", "v2_s", "v2_m", "v2_l", or "tf_b0" to "tf_v2_l"; null: b0, or the previous model's
    /// network when Fit(data, previousModel) continues one.</param>
    /// <param name="epochs">Passes over the training data.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="imageSize">The square size images are resized to; default the variant's resolution.</param>
    /// <param name="pretrainedWeights">Weights to start from: "imagenet" (torchvision's ImageNet weights for the version,
    /// fetched into the weights cache on first use), another registry name, or a .safetensors or .pth file; null: none.</param>
    public static EfficientNetTrainer EfficientNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Image", string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel", IDataView? validationSet = null, string? version = null, int epochs = 10,
        int batchSize = 16, double learningRate = 1e-3, int? imageSize = null, string? pretrainedWeights = null) =>
        EfficientNet(catalog, new EfficientNetTrainer.Options
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName, ValidationSet = validationSet, Version = version, Epochs = epochs,
            BatchSize = batchSize, LearningRate = learningRate, ImageSize = imageSize, PretrainedWeights = pretrainedWeights,
        });

    /// <summary>An EfficientNet image classifier with every option.</summary>
    /// <param name="catalog">mlContext.MulticlassClassification.Trainers.</param>
    /// <param name="options">The options; see <see cref="EfficientNetTrainer.Options"/>.</param>
    public static EfficientNetTrainer EfficientNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EfficientNetTrainer.Options options) =>
        new(MLNetEnvironment.Of(catalog ?? throw new ArgumentNullException(nameof(catalog))), options);

    /// <summary>
    /// An EfficientNet classifier of several labels per image (a sigmoid per label, binary cross-entropy, per-label
    /// thresholds chosen on validation images): everything <see cref="EfficientNet(MulticlassClassificationCatalog.MulticlassClassificationTrainers, string, string, string, string, IDataView?, string?, int, int, double, int?, string?)"/>
    /// has, for a label column with a label set per row. Score holds one probability per label; PredictedLabel the keys
    /// of the labels over their thresholds (MapKeyToValue gives their names). Evaluate with EvaluateMultiLabel. Without
    /// augmentation by default: a random crop can cut a labelled object off the image (<see cref="EfficientNetTrainer.Options.Augment"/>).
    /// </summary>
    /// <param name="catalog">mlContext.MulticlassClassification.Trainers.</param>
    /// <param name="labelColumnName">The label column: text with the labels separated by <paramref name="separator"/>
    /// ("dog;person"; "" for none), a vector of text, or a vector of keys.</param>
    /// <param name="featureColumnName">The image column, as for EfficientNet.</param>
    /// <param name="separator">What separates the labels in a text label column.</param>
    /// <param name="validationSet">Data for validation metrics after each epoch and for choosing the thresholds; without
    /// it, set ValidationFraction in the options overload, or the thresholds stay 0.5.</param>
    /// <param name="version">"b0" to "b7", "v2_s", "v2_m", "v2_l", or "tf_b0" to "tf_v2_l"; null: b0.</param>
    /// <param name="epochs">Passes over the training data.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="imageSize">The square size images are resized to; default the variant's resolution.</param>
    /// <param name="pretrainedWeights">Weights to start from ("imagenet", a registry name, or a file); null: none.</param>
    public static EfficientNetTrainer EfficientNetMultiLabel(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Image", char separator = ';', IDataView? validationSet = null,
        string? version = null, int epochs = 10, int batchSize = 16, double learningRate = 1e-3, int? imageSize = null, string? pretrainedWeights = null) =>
        EfficientNetMultiLabel(catalog, new EfficientNetTrainer.Options
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ValidationSet = validationSet, Version = version,
            Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate, ImageSize = imageSize, PretrainedWeights = pretrainedWeights,
            MultiLabel = new MultiLabelOptions { Separator = separator },
        });

    /// <summary>A multi-label EfficientNet classifier with every option; <see cref="EfficientNetTrainer.Options.MultiLabel"/> is set if it is not.</summary>
    /// <param name="catalog">mlContext.MulticlassClassification.Trainers.</param>
    /// <param name="options">The options; see <see cref="EfficientNetTrainer.Options"/> and <see cref="MultiLabelOptions"/>.</param>
    public static EfficientNetTrainer EfficientNetMultiLabel(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EfficientNetTrainer.Options options) =>
        EfficientNet(catalog, (options ?? throw new ArgumentNullException(nameof(options))) with { MultiLabel = options.MultiLabel ?? new MultiLabelOptions() });

    /// <summary>
    /// Evaluates a multi-label model's scored data as ML.NET's Evaluate does a multiclass model's: mean average precision,
    /// micro and macro precision, recall and F1, Hamming loss, subset accuracy, and every label's figures. Decisions use
    /// the model's thresholds (kept on the Score column), or 0.5 for scores from elsewhere.
    /// </summary>
    /// <param name="catalog">mlContext.MulticlassClassification.</param>
    /// <param name="data">Scored data: the model's Transform of rows with their labels.</param>
    /// <param name="labelColumnName">The true labels: "a;b" text, a vector of text, or a vector of keys.</param>
    /// <param name="scoreColumnName">The probabilities, one per label, the label names as slot names.</param>
    /// <param name="separator">What separates the labels in a text label column.</param>
    public static MultiLabelClassificationMetrics EvaluateMultiLabel(this MulticlassClassificationCatalog catalog, IDataView data,
        string labelColumnName = "Label", string scoreColumnName = "Score", char separator = ';')
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return MultiLabelEvaluation.Evaluate(data ?? throw new ArgumentNullException(nameof(data)), labelColumnName, scoreColumnName, separator);
    }
}

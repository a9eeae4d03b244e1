using EfficientNet.MLNet;
using EfficientNet.MLNet.MLNetInternals;

namespace Microsoft.ML;

/// <summary>Adds <c>EfficientNet</c> to <c>mlContext.MulticlassClassification.Trainers</c>.</summary>
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
}

using EfficientNet.MLNet;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;

namespace Microsoft.ML;

/// <summary>Adds <c>EfficientNetFeaturizeImage</c> to <c>mlContext.Transforms</c>, beside ML.NET's DnnFeaturizeImage.</summary>
public static class EfficientNetFeaturizerCatalog
{
    /// <summary>
    /// Image features from pretrained EfficientNet weights: each image's pooled feature vector (1280 values for b0), for
    /// LightGbm, SDCA, k-means or similarity search. The images are stretched to the weights' square crop size (or
    /// <paramref name="imageSize"/>) and normalized as the weights expect.
    /// </summary>
    /// <param name="catalog">mlContext.Transforms.</param>
    /// <param name="outputColumnName">The feature vector column to add.</param>
    /// <param name="inputColumnName">The image column: MLImage (LoadImages), encoded bytes (LoadRawImageBytes, byte[]), or 3 x H x W floats (ExtractPixels).</param>
    /// <param name="weights">"imagenet" (torchvision's ImageNet weights for <paramref name="version"/>, fetched into the
    /// weights cache on first use), another registry name (see WeightsRegistry), or a .safetensors or .pth file.</param>
    /// <param name="version">"b0" to "b7", "v2_s", "v2_m", "v2_l" (or tf_...); default: the architecture a registry name says,
    /// "b0" for "imagenet"; needed for a file.</param>
    /// <param name="imageSize">The square size images are resized to; default the weights' evaluation crop (224 for b0).</param>
    /// <param name="progress">Told how a download goes.</param>
    public static EfficientNetImageFeaturizerEstimator EfficientNetFeaturizeImage(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName = "Image", string weights = WeightsRegistry.ImageNet, string? version = null, int? imageSize = null,
        Action<WeightsDownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(weights);
        if (imageSize is < 32)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "At least 32 pixels, or null for the weights' crop size.");
        var architecture = version ?? WeightsRegistry.Current.All.FirstOrDefault(e => e.Name == weights)?.Architecture
            ?? (weights == WeightsRegistry.ImageNet ? "b0" : null);
        if (architecture is null && File.Exists(weights))
            throw new ArgumentException($"Give the version (b0..b7, v2_s, v2_m, v2_l) of the weights in '{weights}'.", nameof(version));
        var variant = architecture is null ? null : EfficientNetVariants.Get(architecture);
        if (variant is null || !WeightsResolver.IsKnown(weights, variant.Name))
            throw new ArgumentException($"'{weights}' is neither an existing weights file (.safetensors or .pth) nor a known name ({WeightsRegistry.ImageNet}, or one of {string.Join(", ", WeightsRegistry.Current.All.Select(e => e.Name))}).", nameof(weights));
        return new EfficientNetImageFeaturizerEstimator(outputColumnName, inputColumnName, () =>
        {
            var (model, device, names, preprocessing, _) = PretrainedClassifier.LoadNetwork(weights, variant.Name, null, "cpu", progress, useEmaWeights: false);
            var network = new EfficientNetTransformer(model, device, imageSize ?? preprocessing.CropSize, names, inputColumnName, "Score", "PredictedLabel",
                32, Array.Empty<EpochMetrics>(), preprocessing.Normalization);
            return new EfficientNetImageFeaturizer(network, inputColumnName, outputColumnName, ownsNetwork: true);
        }, EfficientNetArchitecture.Plan(variant).HeadChannels);
    }

    /// <summary>
    /// Image features from a trained classifier's backbone (e.g. the <c>LastTransformer</c> of a loaded model): each
    /// image's pooled feature vector, at the classifier's image size and normalization. The classifier stays its owner's
    /// to dispose, and is saved with the featurizer.
    /// </summary>
    /// <param name="catalog">mlContext.Transforms.</param>
    /// <param name="outputColumnName">The feature vector column to add.</param>
    /// <param name="classifier">A trained or loaded EfficientNet classifier.</param>
    /// <param name="inputColumnName">The image column; default the classifier's.</param>
    public static EfficientNetImageFeaturizerEstimator EfficientNetFeaturizeImage(this TransformsCatalog catalog, string outputColumnName,
        EfficientNetTransformer classifier, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(classifier);
        var input = inputColumnName ?? classifier.FeatureColumnName;
        return new EfficientNetImageFeaturizerEstimator(outputColumnName, input,
            () => new EfficientNetImageFeaturizer(classifier, input, outputColumnName, ownsNetwork: false),
            EfficientNetArchitecture.Plan(classifier.Scaling).HeadChannels);
    }
}

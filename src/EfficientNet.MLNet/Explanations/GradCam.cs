using Microsoft.ML.Data;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Explanations;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017) for a trained classifier: a convolutional layer's channels weighted by the mean
/// gradient of the class's score (its logit) over each channel, summed, kept where positive, resized bilinearly to the
/// input size and stretched to 0..1 by its minimum and maximum, as pytorch-grad-cam's GradCAM does on a torchvision
/// layer. Which layer: see <see cref="DefaultLayer"/>. (Placing the cells where their receptive fields are centred
/// instead of a plain resize matched the evidence less well on ShapesAmongDistractors: 0.625 of the images against 0.75.)
/// </summary>
public static class GradCam
{
    /// <summary>The smallest map side, in cells, the default layer has when the images allow it: 7, b0's last map at its own 224 px.</summary>
    public const int MinimumMapSide = 7;

    /// <summary>
    /// The layer of <c>features</c> explained by default for images of <paramref name="imageSize"/> pixels:
    /// <c>features[-1]</c> (the head convolution, pytorch-grad-cam's usual choice) when its map is at least
    /// <see cref="MinimumMapSide"/> cells wide, as at each variant's own resolution; otherwise the first layer whose map
    /// has the side of the deepest map that is at least that wide (b0 at 128 px: <c>features[4]</c>, 8 x 8, where the
    /// head's map is 4 x 4 and its heat spreads over the whole image). Measured on ShapesAmongDistractors: the README's
    /// "Explaining predictions" has the table.
    /// </summary>
    public static int DefaultLayer(EfficientNetArchitecture architecture, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var last = architecture.FeatureLayerCount - 1;
        int Side(int layer) => architecture.FeatureMapSide(layer, imageSize);
        if (Side(last) >= MinimumMapSide)
            return last;
        var deepest = last;
        while (deepest > 1 && Side(deepest) < MinimumMapSide)
            deepest--;
        if (Side(deepest) < MinimumMapSide)
            return last; // images so small that no map is that wide
        var first = deepest;
        while (first > 1 && Side(first - 1) == Side(deepest)) // a stage, not the stem
            first--;
        return first;
    }

    /// <summary>Explains the model's score of an encoded image for <paramref name="className"/>, or for its predicted class.</summary>
    /// <param name="classifier">A trained or loaded model.</param>
    /// <param name="image">PNG, JPEG, BMP, GIF or WebP bytes; stretched to the model's square, as scoring does.</param>
    /// <param name="className">A class of the model; null: the predicted one.</param>
    /// <param name="layer">Which of torchvision's <c>features</c> layers to explain, as pytorch-grad-cam's
    /// <c>target_layers=[model.features[layer]]</c> (0 the stem, then the stages, the last the head convolution); null:
    /// <see cref="DefaultLayer"/>.</param>
    /// <exception cref="ArgumentException">The image cannot be decoded, or the class is not the model's.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The layer is not one of <c>features</c>.</exception>
    public static GradCamExplanation Explain(this EfficientNetTransformer classifier, byte[] image, string? className = null, int? layer = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(image);
        var (wanted, chosen) = Checked(classifier, className, layer);
        byte[] pixels;
        try
        {
            pixels = RgbImage.FromEncoded(image, classifier.ImageSize);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"The image cannot be explained: {e.Message}", nameof(image), e);
        }
        return FromPixels(classifier, pixels, wanted, chosen);
    }

    /// <summary>
    /// Explains the model's score of an image as ML.NET's LoadImages (and ResizeImages) hand it to the classifier: what a
    /// saved pipeline's preprocessing made of a file, so that the explanation sees what scoring saw.
    /// </summary>
    /// <param name="classifier">A trained or loaded model.</param>
    /// <param name="image">The image at the classifier's input (stretched to the model's square, as scoring does).</param>
    /// <param name="className">A class of the model; null: the predicted one.</param>
    /// <param name="layer">As in <see cref="Explain(EfficientNetTransformer, byte[], string?, int?)"/>.</param>
    /// <exception cref="ArgumentException">The image's pixel format is not one LoadImages gives, or the class is not the model's.</exception>
    public static GradCamExplanation Explain(this EfficientNetTransformer classifier, MLImage image, string? className = null, int? layer = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(image);
        var (wanted, chosen) = Checked(classifier, className, layer);
        byte[] pixels;
        try
        {
            pixels = RgbImage.FromMLImage(image, classifier.ImageSize);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"The image cannot be explained: {e.Message}", nameof(image), e);
        }
        return FromPixels(classifier, pixels, wanted, chosen);
    }

    // The class asked for (its index) and the layer to explain, checked.
    static (int? Wanted, int Layer) Checked(EfficientNetTransformer classifier, string? className, int? layer)
    {
        int? wanted = null;
        if (className is not null)
        {
            var index = classifier.ClassNames.ToList().IndexOf(className);
            wanted = index >= 0 ? index
                : throw new ArgumentException($"'{className}' is not a class of the model; its classes are {string.Join(", ", classifier.ClassNames)}.", nameof(className));
        }
        var architecture = classifier.ModelForReading.Architecture;
        if (layer is { } chosen && (chosen < 0 || chosen >= architecture.FeatureLayerCount))
            throw new ArgumentOutOfRangeException(nameof(layer), chosen, $"The model's features has layers 0 to {architecture.FeatureLayerCount - 1} (the stem, the stages, the head convolution).");
        return (wanted, layer ?? DefaultLayer(architecture, classifier.ImageSize));
    }

    static GradCamExplanation FromPixels(EfficientNetTransformer classifier, byte[] pixels, int? wanted, int layer)
    {
        var model = classifier.ModelForReading; // read, not changed: scoring's ONNX session stays as it is
        var size = classifier.ImageSize;
        using var exclusive = model.Exclusive();
        var modes = ModuleModes.Of(model);
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            var parameter = model.parameters().First();
            var input = NetworkInput.FromImages(new[] { pixels }, size, parameter.device, classifier.Normalization).to(parameter.dtype);
            Tensor map;
            using (no_grad())
                map = model.FeatureMap(input, layer);
            // Gradients reach the feature map only: nothing accumulates in the model's parameters.
            map = map.detach().requires_grad_(true);
            Tensor logits, gradient;
            using (enable_grad())
            {
                logits = model.LogitsFromFeatureMap(map, layer);
                var probabilities = classifier.Probabilities(logits.detach()).to(ScalarType.Float32).cpu().data<float>().ToArray();
                var predicted = Pipeline.Scoring.MostProbable(probabilities);
                var explained = wanted ?? predicted;
                gradient = torch.autograd.grad(new[] { logits[0, explained] }, new[] { map })[0];
                using var noGrad = no_grad();
                var channelWeights = gradient.mean(new long[] { 2, 3 }, keepdim: true);
                var cam = nn.functional.relu((channelWeights * map.detach()).sum(1, keepdim: true));
                var scaled = nn.functional.interpolate(cam.to(ScalarType.Float32), new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
                // Scaled to 0..1 by its minimum and maximum, as pytorch-grad-cam shows its maps.
                var (minimum, maximum) = (scaled.min().item<float>(), scaled.max().item<float>());
                var heat = (maximum > minimum ? (scaled - minimum) / (maximum - minimum) : zeros_like(scaled)).cpu().contiguous();
                var decided = classifier.Task == TaskKind.MultiLabel
                    ? classifier.Decide(probabilities).Select(i => classifier.ClassNames[i]).ToList()
                    : new List<string> { classifier.ClassNames[predicted] };
                return new GradCamExplanation(classifier.ClassNames[explained], explained, probabilities[explained], classifier.ClassNames[predicted], layer, (int)cam.shape[3],
                    heat.MoveToOuterDisposeScope(), probabilities, decided);
            }
        }
        finally
        {
            modes.Restore();
        }
    }
}

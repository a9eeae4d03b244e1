using TorchSharp;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Scoring;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet;

/// <summary>
/// Pretrained weights used as they are, for their own classes (ImageNet's 1000 for torchvision's and timm's
/// weights): each image is preprocessed as the weights were evaluated (the shorter side resized with their filter,
/// the centre square cropped, their mean and standard deviation: a registry entry's values, or torchvision's for the
/// variant when the weights are a file of no entry), then scored in batches.
/// </summary>
public sealed class PretrainedClassifier : IDisposable
{
    private readonly ScoringNetwork network;

    private PretrainedClassifier(EfficientNetModel model, Device device, IReadOnlyList<string> labels, int resizeSize, int cropSize,
        ResizeInterpolation interpolation, PixelNormalization normalization, PretrainedWeights? weights)
    {
        network = ScoringNetwork.FromModel(model, device, cropSize, normalization);
        Labels = labels;
        (ResizeSize, CropSize, Interpolation, Normalization, Weights) = (resizeSize, cropSize, interpolation, normalization, weights);
    }

    /// <summary>One name per class, in the classifier's order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The shorter side is resized to this before cropping.</summary>
    public int ResizeSize { get; }

    /// <summary>The centre square the network sees.</summary>
    public int CropSize { get; }

    /// <summary>The resize's filter.</summary>
    public ResizeInterpolation Interpolation { get; }

    /// <summary>The mean and standard deviation the pixels are normalized with.</summary>
    public PixelNormalization Normalization { get; }

    /// <summary>What scores (ONNX Runtime when the application can load it, by default); see <see cref="MLNet.ScoringEngine"/>.</summary>
    public ScoringEngine ScoringEngine
    {
        get => network.Engine;
        set => network.Engine = value;
    }

    /// <summary>The registry entry of the weights, or null for a file of no entry.</summary>
    public PretrainedWeights? Weights { get; }

    /// <summary>
    /// torchvision's evaluation sizes for a variant's default ImageNet weights (the registry's default entry), e.g. b0:
    /// resize 256, crop 224; v2_s: 384, 384.
    /// </summary>
    public static (int ResizeSize, int CropSize) TorchvisionPreprocessing(string version)
    {
        var entry = DefaultWeights(EfficientNetVariants.Get(version));
        return (entry.ResizeSize, entry.CropSize);
    }

    // Every variant has a default entry in the built-in registry (tested), the tf_ ones included.
    static PretrainedWeights DefaultWeights(EfficientNetScaling variant) => WeightsRegistry.Current.Get(WeightsRegistry.ImageNet, variant.Name);

    /// <summary>
    /// Loads weights into the variant's network: a name the <see cref="WeightsRegistry"/> knows ("imagenet" with a
    /// version, "efficientnet_b0.IMAGENET1K_V1"...; fetched into the <see cref="WeightsCache"/> if needed) or a file
    /// (safetensors or torch.save, torchvision's or timm's names). The class count is read from the weights' classifier.
    /// </summary>
    /// <param name="weights">A registry name, or the weights file.</param>
    /// <param name="version">"b0" to "b7", "v2_s", "v2_m", "v2_l", or a TensorFlow-padded "tf_" one; may be left out for a registry name (its architecture).</param>
    /// <param name="labels">Class names, one per class; default: the entry's categories, else "class 0", "class 1", ...</param>
    /// <param name="device">"cpu" (default), "cuda", "cuda:N" or "auto".</param>
    /// <param name="progress">Told how a download goes.</param>
    /// <param name="useEmaWeights">From a training checkpoint (.pth), its moving average of the weights instead of its weights.</param>
    /// <exception cref="WeightsFormatException">The file is damaged or has no classifier.</exception>
    /// <exception cref="WeightsMismatchException">The weights are not of this variant.</exception>
    /// <exception cref="WeightsDownloadException">A named entry could not be fetched.</exception>
    /// <exception cref="ArgumentException">An unknown name, no version for a file, or labels that are not one per class.</exception>
    public static PretrainedClassifier Load(string weights, string? version = null, IReadOnlyList<string>? labels = null, string device = "cpu",
        Action<WeightsDownloadProgress>? progress = null, bool useEmaWeights = false)
    {
        var (model, chosen, names, preprocessing, entry) = LoadNetwork(weights, version, labels, device, progress, useEmaWeights);
        return new PretrainedClassifier(model, chosen, names, preprocessing.ResizeSize, preprocessing.CropSize, preprocessing.Interpolation,
            preprocessing.Normalization, entry);
    }

    /// <summary>
    /// The network of pretrained weights (in eval mode, on the device), its class names, the preprocessing it was evaluated
    /// with (its registry entry's, or the variant's default torchvision weights' for a file) and its registry entry.
    /// </summary>
    internal static (EfficientNetModel Model, Device Device, IReadOnlyList<string> Names, PretrainedWeights Preprocessing, PretrainedWeights? Entry) LoadNetwork(
        string weights, string? version, IReadOnlyList<string>? labels, string device, Action<WeightsDownloadProgress>? progress, bool useEmaWeights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var (path, entry) = WeightsResolver.Resolve(weights, version, progress);
        var variant = EfficientNetVariants.Get(version ?? entry?.Architecture
            ?? throw new ArgumentException($"Give the version (b0..b7, v2_s, v2_m, v2_l) of the weights in '{weights}': a file does not say which variant it is.", nameof(version)));
        var chosen = DeviceSelection.Choose(device, null, fallbackToCpu: false, _ => { });
        // A torch.save file is read once: its tensors give the class count and are then loaded.
        var pytorch = ModuleWeights.IsPyTorchFile(path) ? PyTorchStateDict.Read(path, useEmaWeights) : null;
        if (pytorch is null && useEmaWeights)
            throw new WeightsFormatException(path, "a safetensors file holds one set of weights; a moving average (EMA) comes from a torch.save training checkpoint", "safetensors", null);
        EfficientNetModel? model = null;
        try
        {
            var shapes = pytorch?.Select(t => (t.Key, t.Value.shape)) ?? SafetensorsFile.Open(path).Entries.Select(e => (e.Name, e.Shape));
            var classes = ClassCount(shapes, path);
            if (labels is not null && labels.Count != classes)
                throw new ArgumentException($"{labels.Count} labels were given, but the weights in '{path}' have {classes} classes: give one label per line, in the classifier's order.", nameof(labels));
            model = new EfficientNetModel(variant, (int)classes);
            if (pytorch is not null)
                ModuleWeights.LoadPyTorchTensors(model, pytorch, path, WeightLoadMode.Strict);
            else
                model.LoadSafetensors(path);
            model.to(chosen);
            model.eval();
            // The class names: given; kept in a torch.save checkpoint; a classes.txt beside the file (as train_ddp.py writes); a registry entry's; else numbered.
            var named = Training.WeightsClassOrder.Find(path, entry, labels, (int)classes);
            var names = named?.Count == classes ? named : labels ?? Enumerable.Range(0, (int)classes).Select(c => $"class {c}").ToList();
            // A file of no entry is read as the variant's default torchvision weights are.
            return (model, chosen, names, entry ?? DefaultWeights(variant), entry);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var tensor in pytorch?.Values ?? Enumerable.Empty<Tensor>()) tensor.Dispose();
        }
    }

    /// <summary>Class probabilities for each encoded image (PNG, JPEG, BMP, GIF, WebP), in order.</summary>
    /// <exception cref="InvalidDataException">An image cannot be decoded (its index is in the message).</exception>
    public float[][] Classify(IReadOnlyList<byte[]> encodedImages, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(encodedImages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var results = new List<float[]>(encodedImages.Count);
        for (var start = 0; start < encodedImages.Count; start += batchSize)
        {
            var pixels = encodedImages.Skip(start).Take(batchSize).Select((image, i) =>
            {
                try
                {
                    return RgbImage.FromEncodedCentreCrop(image, ResizeSize, CropSize, Interpolation);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"Image {start + i}: {e.Message}", e);
                }
            }).ToList();
            results.AddRange(network.Score(pixels));
        }
        return results.ToArray();
    }

    /// <summary>
    /// Prepares scoring now instead of on the first <see cref="Classify"/>: builds the engine's session or network and
    /// scores a blank image with it (see <see cref="EfficientNetTransformer.WarmUp"/>).
    /// </summary>
    public void WarmUp() => network.WarmUp();

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose() => network.Dispose();

    static long ClassCount(IEnumerable<(string Name, long[] Shape)> tensors, string path)
    {
        static bool IsClassifierWeight(string name) => name is "classifier.1.weight" or "classifier.weight";
        var shape = tensors.FirstOrDefault(t => IsClassifierWeight(t.Name)).Shape;
        return shape is { Length: 2 } ? shape[0]
            : throw new WeightsFormatException(path, "it has no classifier weight ('classifier.1.weight' in torchvision's names, 'classifier.weight' in timm's) with 2 dimensions");
    }
}

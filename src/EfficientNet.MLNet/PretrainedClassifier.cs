using TorchSharp;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet;

/// <summary>
/// Pretrained weights used as they are, for their own classes (ImageNet's 1000 for torchvision's and timm's
/// weights): each image is preprocessed as torchvision evaluates its EfficientNet weights (the shorter side
/// resized, the centre square cropped, ImageNet mean and standard deviation), then scored in batches.
/// </summary>
public sealed class PretrainedClassifier : IDisposable
{
    // torchvision's EfficientNet_BN_Weights.IMAGENET1K_V1 transforms: (resize_size, crop_size).
    static readonly Dictionary<string, (int Resize, int Crop)> TorchvisionSizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["b0"] = (256, 224), ["b1"] = (256, 240), ["b2"] = (288, 288), ["b3"] = (320, 300),
        ["b4"] = (384, 380), ["b5"] = (456, 456), ["b6"] = (528, 528), ["b7"] = (600, 600),
    };

    private readonly EfficientNetModel model;
    private readonly Device device;

    private PretrainedClassifier(EfficientNetModel model, Device device, IReadOnlyList<string> labels, (int Resize, int Crop) sizes)
    {
        this.model = model;
        this.device = device;
        Labels = labels;
        (ResizeSize, CropSize) = sizes;
    }

    /// <summary>One name per class, in the classifier's order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The shorter side is resized to this before cropping.</summary>
    public int ResizeSize { get; }

    /// <summary>The centre square the network sees.</summary>
    public int CropSize { get; }

    /// <summary>torchvision's evaluation sizes for a variant's ImageNet weights, e.g. b0: resize 256, crop 224.</summary>
    public static (int ResizeSize, int CropSize) TorchvisionPreprocessing(string version)
    {
        return TorchvisionSizes[EfficientNetVariants.Get(version).Name];
    }

    /// <summary>
    /// Loads weights (safetensors or torch.save, torchvision's or timm's names) into the variant's network; the
    /// class count is read from the weights' classifier.
    /// </summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="version">"b0" to "b7".</param>
    /// <param name="labels">Class names, one per class; default "class 0", "class 1", ...</param>
    /// <param name="device">"cpu" (default), "cuda", "cuda:N" or "auto".</param>
    /// <exception cref="WeightsFormatException">The file is damaged or has no classifier.</exception>
    /// <exception cref="WeightsMismatchException">The weights are not of this variant.</exception>
    /// <exception cref="ArgumentException">The labels are not one per class.</exception>
    public static PretrainedClassifier Load(string weightsPath, string version, IReadOnlyList<string>? labels = null, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(weightsPath);
        var variant = EfficientNetVariants.Get(version);
        var chosen = DeviceSelection.Choose(device, null, fallbackToCpu: false, _ => { });
        // A torch.save file is read once: its tensors give the class count and are then loaded.
        var pytorch = ModuleWeights.IsPyTorchFile(weightsPath) ? PyTorchStateDict.Read(weightsPath) : null;
        EfficientNetModel? model = null;
        try
        {
            var shapes = pytorch?.Select(t => (t.Key, t.Value.shape)) ?? SafetensorsFile.Open(weightsPath).Entries.Select(e => (e.Name, e.Shape));
            var classes = ClassCount(shapes, weightsPath);
            if (labels is not null && labels.Count != classes)
                throw new ArgumentException($"{labels.Count} labels were given, but the weights in '{weightsPath}' have {classes} classes: give one label per line, in the classifier's order.", nameof(labels));
            model = new EfficientNetModel(variant, (int)classes);
            if (pytorch is not null)
                ModuleWeights.LoadPyTorchTensors(model, pytorch, weightsPath, WeightLoadMode.Strict);
            else
                model.LoadSafetensors(weightsPath);
            model.to(chosen);
            model.eval();
            var names = labels ?? Enumerable.Range(0, (int)classes).Select(c => $"class {c}").ToList();
            return new PretrainedClassifier(model, chosen, names, TorchvisionSizes[variant.Name]);
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
        var results = new List<float[]>(encodedImages.Count);
        for (var start = 0; start < encodedImages.Count; start += batchSize)
        {
            var pixels = encodedImages.Skip(start).Take(batchSize).Select((image, i) =>
            {
                try
                {
                    return RgbImage.FromEncodedCentreCrop(image, ResizeSize, CropSize);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"Image {start + i}: {e.Message}", e);
                }
            }).ToList();
            using var scope = NewDisposeScope();
            var probabilities = model.Infer(NetworkInput.FromImages(pixels, CropSize, device)).softmax(1).to(ScalarType.Float32).cpu();
            var flat = probabilities.data<float>().ToArray();
            results.AddRange(Enumerable.Range(0, pixels.Count).Select(i => flat.AsSpan(i * Labels.Count, Labels.Count).ToArray()));
        }
        return results.ToArray();
    }

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose() => model.Dispose();

    static long ClassCount(IEnumerable<(string Name, long[] Shape)> tensors, string path)
    {
        static bool IsClassifierWeight(string name) => name is "classifier.1.weight" or "classifier.weight";
        var shape = tensors.FirstOrDefault(t => IsClassifierWeight(t.Name)).Shape;
        return shape is { Length: 2 } ? shape[0]
            : throw new WeightsFormatException(path, "it has no classifier weight ('classifier.1.weight' in torchvision's names, 'classifier.weight' in timm's) with 2 dimensions");
    }
}

using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Explanations;

/// <summary>
/// EfficientNet-b0 trained from scratch at 128 px on shapes among distractors, each image's shape in a known quadrant
/// (with augmentation, 30 epochs: about 2.5 minutes here).
/// </summary>
public sealed class DistractorsFixture : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();

    public DistractorsFixture()
    {
        var ml = new MLContext(seed: 1);
        var train = ShapesAmongDistractors.Write(folder.File("train"), imagesPerClass: ImagesPerClass, size: Size, seed: 21);
        Test = ShapesAmongDistractors.Write(folder.File("test"), imagesPerClass: 20, size: Size, seed: 22);
        var rows = ml.Data.LoadFromEnumerable(train.Select(p => new LabeledImage(p.ImagePath, p.Label)));
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(rows);
        Classifier = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
        {
            ImageSize = Size, Epochs = Epochs, BatchSize = 16, LearningRate = 1e-3, Augment = true, HorizontalFlip = true, Seed = 1,
        }).Fit(prepare.Transform(rows));
    }

    public const int Size = 128;
    public const int ImagesPerClass = 60;
    public const int Epochs = 30;

    public EfficientNetTransformer Classifier { get; }
    public IReadOnlyList<PlacedShape> Test { get; }
    public string Folder => folder.Path;

    public void Dispose()
    {
        Classifier.Dispose();
        folder.Dispose();
    }
}

[Collection(TrainingCollection.Name)]
public class GradCamTests(ShapesFixture shapes, DistractorsFixture distractors, ITestOutputHelper log) : IClassFixture<DistractorsFixture>
{
    [Fact]
    public void The_heat_map_is_the_class_weighted_sum_of_the_last_stage_computed_by_hand()
    {
        var classifier = shapes.Classifier;
        var image = File.ReadAllBytes(shapes.Images[0].ImagePath);
        var gradients = classifier.Model.parameters().Select(p => p.grad?.sum().item<float>()).ToList();

        var head = classifier.Model.Architecture.FeatureLayerCount - 1;
        using var explanation = classifier.Explain(image, layer: head);

        // For global average pooling and one linear layer, the gradient of logit c over channel k is W[c, k] / (h w)
        // everywhere, so Grad-CAM is relu(sum_k W[c, k] A_k) up to a positive factor (Zhou et al.'s CAM), before scaling.
        using var scope = NewDisposeScope();
        var model = classifier.Model;
        var pixels = MLNet.Imaging.RgbImage.FromEncoded(image, classifier.ImageSize);
        Tensor map;
        using (no_grad())
            map = model.FeatureMap(MLNet.Imaging.NetworkInput.FromImages(new[] { pixels }, classifier.ImageSize, CPU, classifier.Normalization));
        var weights = model.state_dict()["classifier.1.weight"][explanation.ClassIndex].reshape(1, -1, 1, 1);
        var cam = nn.functional.relu((weights * map).sum(1, keepdim: true));
        var scaled = nn.functional.interpolate(cam, new long[] { classifier.ImageSize, classifier.ImageSize }, mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
        var expected = (scaled - scaled.min()) / (scaled.max() - scaled.min());

        Assert.Equal((head, (int)map.shape[3]), (explanation.Layer, explanation.MapSide));
        Assert.Equal(explanation.PredictedClassName, explanation.ClassName);
        Assert.Equal(new long[] { classifier.ImageSize, classifier.ImageSize }, explanation.HeatMap.shape);
        Assert.True(explanation.HeatMap.allclose(expected, rtol: 0, atol: 1e-5), $"largest difference {(explanation.HeatMap - expected).abs().max().item<float>()}");
        Assert.Equal((0f, 1f), (explanation.HeatMap.min().item<float>(), explanation.HeatMap.max().item<float>()));
        Assert.Equal(gradients, model.parameters().Select(p => p.grad?.sum().item<float>())); // nothing accumulated in the model
        Assert.False(model.training);
    }

    [Fact]
    public void Most_of_the_heat_map_falls_in_the_quadrant_holding_the_class_shape_for_most_images()
    {
        var classifier = distractors.Classifier;
        var artifacts = FixturePaths.Artifacts("gradcam");
        foreach (var earlier in Directory.GetFiles(artifacts, "*.png"))
            File.Delete(earlier); // an earlier run's overlays would mislead whoever looks
        var byDefault = Shares(classifier, layer: null, artifacts);
        var head = Shares(classifier, layer: classifier.Model.Architecture.FeatureLayerCount - 1, artifacts: null);
        log.WriteLine($"accuracy {byDefault.Accuracy:0.000} on {distractors.Test.Count} images; chance 0.25 for each figure below");
        log.WriteLine($"default, {byDefault}");
        log.WriteLine($"head,    {head}");

        Assert.True(byDefault.Accuracy >= 0.6, $"accuracy {byDefault.Accuracy:0.000}");
        Assert.Equal(4, byDefault.Layer); // at 128 px b0's maps are 8 x 8 from features[4] on, 4 x 4 from features[6]
        Assert.True(byDefault.Majority >= 0.55, $"more than half of the heat map lies in the shape's quadrant for {byDefault.Majority:0.000} of the images");
        Assert.True(byDefault.Largest >= 0.75, $"the shape's quadrant has the largest share in {byDefault.Largest:0.000} of the images");
        Assert.True(byDefault.MeanShare >= 0.45, $"the shape's quadrant holds {byDefault.MeanShare:0.000} of the heat map on average");
        Assert.True(byDefault.Majority > head.Majority, "the default layer points at the evidence no better than the head");
    }

    /// <summary>How the heat maps of the correctly classified test images fall on the shape's quadrant.</summary>
    sealed record QuadrantShares(int Layer, int MapSide, double Accuracy, double Largest, double MeanShare, double MedianShare, double Majority)
    {
        public override string ToString() =>
            $"features[{Layer}] ({MapSide} x {MapSide}): the shape's quadrant has the largest share in {Largest:0.000} of the correctly classified images, " +
            $"more than half in {Majority:0.000}; its share: mean {MeanShare:0.000}, median {MedianShare:0.000}";
    }

    QuadrantShares Shares(EfficientNetTransformer classifier, int? layer, string? artifacts)
    {
        var shares = new List<double>();
        var (largest, explainedLayer, side) = (0, 0, 0);
        foreach (var placed in distractors.Test)
        {
            var image = File.ReadAllBytes(placed.ImagePath);
            using var explanation = classifier.Explain(image, layer: layer);
            (explainedLayer, side) = (explanation.Layer, explanation.MapSide);
            // The overlays, to look at: the shape's quadrant is in the name.
            if (artifacts is not null)
                File.WriteAllBytes(Path.Combine(artifacts, $"{Path.GetFileNameWithoutExtension(placed.ImagePath)}-q{placed.Quadrant}-{explanation.ClassName}.png"), explanation.OverlayPng(image));
            if (explanation.ClassName != placed.Label)
                continue;
            var masses = Enumerable.Range(0, 4).Select(q => explanation.MassWithin(q % 2 * 0.5, q / 2 * 0.5, q % 2 * 0.5 + 0.5, q / 2 * 0.5 + 0.5)).ToList();
            shares.Add(masses[placed.Quadrant]);
            largest += masses[placed.Quadrant] > 0 && masses[placed.Quadrant] == masses.Max() ? 1 : 0; // a flat map points nowhere
        }
        return new QuadrantShares(explainedLayer, side, (double)shares.Count / distractors.Test.Count, (double)largest / shares.Count,
            shares.Average(), shares.Order().ElementAt(shares.Count / 2), shares.Count(m => m > 0.5) / (double)shares.Count);
    }

    [Fact]
    public void The_overlay_is_the_image_at_its_own_size_and_another_class_can_be_asked_for()
    {
        var placed = distractors.Test[0];
        // Not the model's size and not square, so that the explanation resizes as scoring does: 300 x 150.
        var image = ReEncoded.Resized(File.ReadAllBytes(placed.ImagePath), 300, 150);
        var other = distractors.Classifier.ClassNames.First(c => c != placed.Label);

        using var predicted = distractors.Classifier.Explain(image);
        using var asked = distractors.Classifier.Explain(image, other);
        var png = predicted.OverlayPng(image);
        File.WriteAllBytes(Path.Combine(distractors.Folder, "overlay.png"), png);
        var unknown = Assert.Throws<ArgumentException>(() => distractors.Classifier.Explain(image, "hexagon"));
        var notAnImage = Assert.Throws<ArgumentException>(() => distractors.Classifier.Explain(new byte[] { 1, 2, 3 }));
        var scored = ScoreOfBytes(distractors.Classifier, image);

        using (var decoded = SKBitmap.Decode(png))
            Assert.Equal((300, 150), (decoded.Width, decoded.Height));
        using (var original = SKBitmap.Decode(image))
        using (var overlaid = SKBitmap.Decode(png))
        using (var none = SKBitmap.Decode(predicted.OverlayPng(image, opacity: 0)))
        {
            Assert.Equal(original.GetPixel(5, 5), none.GetPixel(5, 5));
            Assert.NotEqual(original.GetPixel(5, 5), overlaid.GetPixel(5, 5));
        }
        // The explanation saw what scoring sees: the same image, resized the same way (engines agree within 1e-3).
        var index = distractors.Classifier.ClassNames.ToList().IndexOf(predicted.ClassName);
        Assert.Equal(scored.ToList().IndexOf(scored.Max()), index);
        Assert.InRange(predicted.Probability, scored[index] - 1e-3, scored[index] + 1e-3);
        Assert.Equal(other, asked.ClassName);
        Assert.Equal(predicted.ClassName, asked.PredictedClassName);
        Assert.True(asked.Probability < predicted.Probability || predicted.ClassName == other);
        Assert.Contains("'hexagon' is not a class of the model; its classes are", unknown.Message);
        Assert.Contains("cannot be explained", notAnImage.Message);
    }

    [Fact]
    public void Explaining_leaves_scoring_on_the_session_it_had()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var saved = folder.File("model.zip");
        var ml = new MLContext(seed: 1);
        ml.Model.Save(shapes.Classifier, null, saved);
        using var loaded = (EfficientNetTransformer)ml.Model.Load(saved, out _);
        loaded.ScoringEngine = ScoringEngine.OnnxRuntime;
        var image = File.ReadAllBytes(shapes.Images[0].ImagePath);

        var before = ScoreOfBytes(loaded, image);
        var sessions = loaded.OnnxSessionsBuilt;
        using (loaded.Explain(image)) { }
        var after = ScoreOfBytes(loaded, image);

        // Grad-CAM reads the network and changes nothing: no rebuilt session (once the network was handed out, every run
        // walked libtorch's version counters and the first one rebuilt the ONNX graph from the TorchSharp network).
        Assert.Equal(1, sessions);
        Assert.Equal(sessions, loaded.OnnxSessionsBuilt);
        Assert.Equal(before, after);
    }

    static float[] ScoreOfBytes(EfficientNetTransformer classifier, byte[] image)
    {
        var ml = new MLContext();
        var rows = ml.Data.LoadFromEnumerable(new[] { new EncodedImage { Image = image } },
            SchemaDefinitionFor(classifier.FeatureColumnName));
        return classifier.Transform(rows).GetColumn<float[]>(classifier.ScoreColumnName).Single();
    }

    static Microsoft.ML.Data.SchemaDefinition SchemaDefinitionFor(string column)
    {
        var definition = Microsoft.ML.Data.SchemaDefinition.Create(typeof(EncodedImage));
        definition[nameof(EncodedImage.Image)].ColumnName = column;
        return definition;
    }

    public sealed class EncodedImage
    {
        public byte[] Image { get; set; } = Array.Empty<byte>();
    }
}

using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>mlContext.Transforms.EfficientNetFeaturizeImage: features from weights or a trained classifier's backbone.</summary>
[Collection(TrainingCollection.Name)]
public class ImageFeaturizerTests(ShapesFixture shapes)
{
    static List<float[]> Features(IDataView data) => data.GetColumn<float[]>("Features").ToList();

    [Fact]
    public void Features_are_the_networks_pooled_output_from_weights_or_from_the_classifier_on_either_engine()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var weights = folder.File("shapes.safetensors");
        shapes.Classifier.Model.SaveSafetensors(weights);
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.TakeRows(shapes.TestSet, 20);
        var images = shapes.Prepare.Transform(rows);

        using var fromWeights = ml.Transforms.EfficientNetFeaturizeImage("Features", "Image", weights, version: "b0", imageSize: 48).Fit(images);
        using var fromClassifier = ml.Transforms.EfficientNetFeaturizeImage("Features", shapes.Classifier).Fit(images);
        var onnx = Features(fromWeights.Transform(images));
        fromWeights.Network.ScoringEngine = ScoringEngine.TorchSharp;
        var torchSharp = Features(fromWeights.Transform(images));
        var classifierFeatures = Features(fromClassifier.Transform(images));

        // By hand: the network's pooled output (ForwardFeatures) on the pixels scoring reads.
        var paths = ml.Data.CreateEnumerable<LabeledImage>(rows, reuseRowObject: false).Select(r => r.ImagePath).ToList();
        using var scope = NewDisposeScope();
        var pixels = paths.Select(p => RgbImage.FromEncoded(File.ReadAllBytes(p), 48)).ToList();
        Tensor pooled;
        using (no_grad())
            pooled = shapes.Classifier.Model.ForwardFeatures(NetworkInput.FromImages(pixels, 48, CPU, shapes.Classifier.Normalization));
        var expected = Enumerable.Range(0, paths.Count).Select(i => pooled[i].data<float>().ToArray()).ToList();

        Assert.Equal(1280, fromWeights.FeatureCount);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 1280), fromWeights.Transform(images).Schema["Features"].Type);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], torchSharp[i], new ToleranceComparer(1e-4f));
            Assert.Equal(expected[i], onnx[i], new ToleranceComparer(1e-4f));
            Assert.Equal(expected[i], classifierFeatures[i], new ToleranceComparer(1e-4f));
        }
    }

    [Fact]
    public void A_linear_trainer_on_a_trained_backbones_features_classifies_held_out_images()
    {
        var ml = new MLContext(seed: 1);
        // SDCA passes over the data many times: the cache featurizes each image once instead of once per pass.
        var pipeline = ml.Transforms.EfficientNetFeaturizeImage("Features", shapes.Classifier)
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"));

        var model = pipeline.Fit(shapes.Prepare.Transform(shapes.TrainSet));
        var linear = ml.MulticlassClassification.Evaluate(model.Transform(shapes.Prepare.Transform(shapes.TestSet)));
        var network = ml.MulticlassClassification.Evaluate(shapes.Classifier.Transform(shapes.Prepare.Transform(shapes.TestSet)));

        Assert.True(linear.MicroAccuracy >= 0.9, $"SDCA on the features: {linear.MicroAccuracy:0.000} (the network itself: {network.MicroAccuracy:0.000})");
        Assert.True(linear.MicroAccuracy >= network.MicroAccuracy - 0.05, $"SDCA on the features: {linear.MicroAccuracy:0.000}, the network: {network.MicroAccuracy:0.000}");
    }

    [Fact]
    public void The_featurizer_is_saved_in_the_zip_and_loads_in_a_fresh_context_with_its_network()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var zip = folder.File("featurizer.zip");
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.TakeRows(shapes.TestSet, 12);
        var model = shapes.Prepare.Append(ml.Transforms.EfficientNetFeaturizeImage("Features", shapes.Classifier).Fit(shapes.Prepare.Transform(rows)));
        var before = Features(model.Transform(rows));
        ml.Model.Save(model, rows.Schema, zip);

        var fresh = new MLContext();
        var loaded = fresh.Model.Load(zip, out _);
        var after = Features(loaded.Transform(rows));
        var engine = fresh.Model.CreatePredictionEngine<LabeledImage, FeatureRow>(loaded);
        var single = engine.Predict(fresh.Data.CreateEnumerable<LabeledImage>(rows, reuseRowObject: false).First());

        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
            Assert.Equal(before[i], after[i], new ToleranceComparer(1e-5f));
        Assert.Equal(before[0], single.Features, new ToleranceComparer(1e-4f));
        var featurizer = ((IEnumerable<ITransformer>)loaded).OfType<EfficientNetImageFeaturizer>().Single();
        Assert.Equal(("Image", "Features", 1280), (featurizer.InputColumnName, featurizer.OutputColumnName, featurizer.FeatureCount));
        featurizer.Dispose(); // the loaded network is the featurizer's own
        Assert.Throws<ObjectDisposedException>(() => featurizer.Network.WarmUp());
        Assert.Equal(4, shapes.Classifier.ClassNames.Count); // the fixture's classifier was only lent
        shapes.Classifier.WarmUp();
    }

    [Fact]
    public void Unknown_weights_and_a_missing_image_column_are_named()
    {
        var ml = new MLContext();
        var unknownWeights = Assert.Throws<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizeImage("Features", "Image", "no-such-weights.safetensors"));
        var noColumn = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizeImage("Features", shapes.Classifier, "Picture").Fit(shapes.Prepare.Transform(shapes.TestSet)));

        Assert.Contains("'no-such-weights.safetensors' is neither an existing weights file", unknownWeights.Message);
        Assert.Contains("'Picture'", noColumn.Message);
    }

    [Fact]
    public void A_registry_name_alone_gives_its_own_architecture_and_imagenet_alone_gives_b0()
    {
        var ml = new MLContext();

        // Nothing is downloaded before Fit: the estimator knows the feature size from the architecture.
        var b2 = ml.Transforms.EfficientNetFeaturizeImage("Features", "Image", "efficientnet_b2.IMAGENET1K_V1");
        var imagenet = ml.Transforms.EfficientNetFeaturizeImage("Features", "Image");
        var named = ml.Transforms.EfficientNetFeaturizeImage("Features", "Image", "imagenet", version: "b3");

        Assert.Equal(1408, b2.FeatureCount); // b2's head: 1280 x 1.1
        Assert.Equal(1280, imagenet.FeatureCount);
        Assert.Equal(1536, named.FeatureCount);
    }

    public sealed class FeatureRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }
}

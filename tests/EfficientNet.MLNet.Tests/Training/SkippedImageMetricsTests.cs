using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Training;

/// <summary>
/// Epoch metrics are averages over the images actually used: with unreadable images skipped, both the cached and the
/// streamed path divide by the images that trained or validated, not by the rows the data had.
/// </summary>
[Collection(TrainingCollection.Name)]
public class SkippedImageMetricsTests(ShapesFixture shapes)
{
    [Theory]
    [InlineData("cached", null)]
    [InlineData("streamed", 0L)]
    public void Epoch_metrics_average_over_the_images_used_when_some_are_skipped(string path, long? cacheBytes)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bad = folder.File("not-an-image.png");
        File.WriteAllText(bad, "text, not a PNG");
        var ml = shapes.MLContext;
        var train = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(10)).ToList();
        var validation = ml.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(4)).ToList();
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadRawImageBytes("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(ml.Data.LoadFromEnumerable(train));
        IDataView Load(IEnumerable<LabeledImage> rows) => prepare.Transform(ml.Data.LoadFromEnumerable(rows.ToList()));
        var progress = new List<TrainingProgress>();
        // From the fixture's trained weights: one epoch from scratch gives every image the same probabilities, and the
        // validation figures could not show an image paired with another's label.
        var weights = folder.File("shapes.safetensors");
        shapes.Classifier.Model.SaveSafetensors(weights);
        var options = ShapesFixture.Options(1) with
        {
            PretrainedWeights = weights, PretrainedClassNames = shapes.Classifier.ClassNames,
            SkipUnreadableImages = true, DecodedImageCacheBytes = cacheBytes, BatchCompleted = progress.Add,
            ValidationSet = Load(validation.Prepend(new LabeledImage(bad, validation[0].Label))),
        };

        using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(Load(train.Append(new LabeledImage(bad, train[0].Label))));

        var epoch = Assert.Single(classifier.History);
        Assert.Equal(2, classifier.SkippedImages.Count);
        // Training: the epoch's figures are those of its last batch report, which counts the images seen.
        Assert.True(Math.Abs(progress[^1].Loss - epoch.TrainLoss) < 1e-12, $"{path}: the epoch's loss {epoch.TrainLoss} is not its last batch report's {progress[^1].Loss}");
        Assert.Equal(progress[^1].Accuracy, epoch.TrainAccuracy, 12);
        // Validation: the mean cross-entropy of the final weights over the 16 readable validation images.
        var scored = classifier.Transform(Load(validation));
        var labels = scored.GetColumn<uint>("Label").Select(k => (int)k - 1).ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        Tests.Network.CalibratedNetwork.AssertInputDependent(scores, 0.05f);
        var loss = labels.Select((label, i) => -Math.Log(scores[i][label])).Average();
        var accuracy = labels.Where((label, i) => Array.IndexOf(scores[i], scores[i].Max()) == label).Count() / 16.0;
        Assert.Equal(loss, epoch.ValidationLoss!.Value, 4);
        Assert.Equal(accuracy, epoch.ValidationAccuracy!.Value, 12);
    }
}

using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>Fit(data, previousModel): continued training from the fixture's trained model.</summary>
[Collection(TrainingCollection.Name)]
public class ContinuedTrainingTests(ShapesFixture shapes)
{
    [Fact]
    public void Continuing_on_the_same_classes_starts_from_the_previous_accuracy_not_from_scratch()
    {
        var ml = new MLContext(seed: 3);
        var train = shapes.Prepare.Transform(shapes.TrainSet);
        var validation = shapes.Prepare.Transform(shapes.TestSet);
        var previousAccuracy = ml.MulticlassClassification.Evaluate(shapes.Classifier.Transform(validation)).MicroAccuracy;
        var previousWeights = ContinuedTraining.Fingerprint(shapes.Classifier);
        var options = ShapesFixture.Options(epochs: 1) with { LearningRate = 1e-4, ValidationSet = validation };

        using var continued = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(train, shapes.Classifier);
        using var fresh = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(train);

        var continuedAccuracy = continued.History[0].ValidationAccuracy!.Value;
        var freshAccuracy = fresh.History[0].ValidationAccuracy!.Value;
        Assert.True(previousAccuracy >= 0.9, $"the fixture's model scores {previousAccuracy:0.000}");
        Assert.True(continuedAccuracy >= previousAccuracy - 0.05, $"after one continued epoch {continuedAccuracy:0.000}, before {previousAccuracy:0.000}");
        Assert.True(freshAccuracy <= continuedAccuracy - 0.2, $"one epoch from scratch {freshAccuracy:0.000}, continued {continuedAccuracy:0.000}");
        Assert.Equal(previousWeights, ContinuedTraining.Fingerprint(shapes.Classifier));
        Assert.Equal(shapes.Classifier.ImageSize, continued.ImageSize);
    }

    [Fact]
    public void The_same_classes_under_other_keys_keep_each_class_its_own_classifier_row()
    {
        var ml = new MLContext(seed: 3);
        // The fixture's keys follow the first occurrence; these are alphabetical.
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(shapes.TrainSet);
        var train = prepare.Transform(shapes.TrainSet);
        // A step too small to move the weights, and frozen statistics: the continued model must score as the previous one.
        var options = ShapesFixture.Options(epochs: 1) with { LearningRate = 1e-9, FreezeBatchNormStatistics = true };

        using var continued = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(train, shapes.Classifier);

        Assert.NotEqual(shapes.Classifier.ClassNames, continued.ClassNames);
        Assert.Equal(shapes.Classifier.ClassNames.Order(), continued.ClassNames.Order());
        var before = shapes.Classifier.Transform(shapes.Prepare.Transform(shapes.TestSet)).GetColumn<float[]>("Score").ToList();
        var after = continued.Transform(prepare.Transform(shapes.TestSet)).GetColumn<float[]>("Score").ToList();
        for (var row = 0; row < before.Count; row++)
            foreach (var name in continued.ClassNames)
            {
                var old = before[row][shapes.Classifier.ClassNames.ToList().IndexOf(name)];
                var now = after[row][continued.ClassNames.ToList().IndexOf(name)];
                Assert.True(Math.Abs(old - now) < 1e-3, $"row {row}, class {name}: {old} before, {now} after");
            }
    }

    [Fact]
    public void Other_classes_keep_the_previous_backbone_and_train_a_fresh_classifier()
    {
        var ml = new MLContext(seed: 4);
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false)
            .Where(r => r.Label is "circle" or "triangle")
            .Select(r => new LabeledImage(r.ImagePath, r.Label == "circle" ? "round" : "pointed")).ToList();
        var data = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var options = ShapesFixture.Options(epochs: 2) with { FreezeBackbone = true, LearningRate = 1e-2 };

        using var continued = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data, shapes.Classifier);

        var before = shapes.Classifier.Model.state_dict();
        var after = continued.Model.state_dict();
        TensorAssert.BackboneUnchanged(before, after);
        Assert.Equal(new long[] { 2, 1280 }, after["classifier.1.weight"].shape);
        Assert.Equal(new[] { "round", "pointed" }, continued.ClassNames.Order().Reverse());
        Assert.True(continued.History[^1].TrainAccuracy >= 0.9, $"train accuracy {continued.History[^1].TrainAccuracy}");
    }

    [Fact]
    public void A_model_of_another_variant_continues_without_naming_its_version()
    {
        var ml = new MLContext(seed: 1);
        var data = shapes.Prepare.Transform(ml.Data.TakeRows(shapes.TrainSet, 16));
        using var b1 = ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { Version = "b1", ImageSize = 32 }).Fit(data);

        // The catalog's defaults name no version: continuing takes the previous model's network and image size.
        using var continued = ml.MulticlassClassification.Trainers.EfficientNet(epochs: 1).Fit(data, b1);

        Assert.Equal(("b1", 32), (continued.Version, continued.ImageSize));
        Assert.Equal(b1.Model.parameters().Sum(p => p.numel()), continued.Model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Options_that_ask_for_another_start_are_refused_with_what_to_do()
    {
        var ml = new MLContext(seed: 1);
        var data = shapes.Prepare.Transform(ml.Data.TakeRows(shapes.TrainSet, 8));

        var otherVersion = Assert.Throws<ArgumentException>(() =>
            ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { Version = "b1" }).Fit(data, shapes.Classifier));
        var twoStarts = Assert.Throws<ArgumentException>(() =>
            ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { PretrainedWeights = "imagenet" }).Fit(data, shapes.Classifier));
        var frozenFromScratch = Assert.Throws<ArgumentException>(() =>
            ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { FreezeBackbone = true }).Fit(data));
        var statisticsFromScratch = Assert.Throws<ArgumentException>(() =>
            ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { FreezeBatchNormStatistics = true }).Fit(data));

        Assert.Contains("EfficientNet-b0", otherVersion.Message);
        Assert.Contains("Version = \"b0\"", otherVersion.Message);
        Assert.Contains("Leave PretrainedWeights unset", twoStarts.Message);
        Assert.Contains("FreezeBackbone", frozenFromScratch.Message);
        Assert.Contains("PretrainedWeights", frozenFromScratch.Message);
        Assert.Contains("Fit(data, previousModel)", frozenFromScratch.Message);
        Assert.StartsWith("EfficientNetTrainer.Options.FreezeBatchNormStatistics needs trained weights", statisticsFromScratch.Message);
    }
}

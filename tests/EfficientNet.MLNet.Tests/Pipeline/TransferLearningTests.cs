using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

[Collection(TrainingCollection.Name)]
public class TransferLearningTests(ShapesFixture shapes)
{
    [Fact]
    public void Pretrained_backbone_frozen_learns_new_classes_and_keeps_every_backbone_tensor()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var pretrained = folder.File("pretrained.safetensors");
        shapes.Classifier.Model.SaveSafetensors(pretrained);
        var ml = new MLContext(seed: 2);
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false)
            .Where(r => r.Label is "circle" or "triangle").ToList();
        var data = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var options = ShapesFixture.Options(epochs: 2) with { PretrainedWeights = pretrained, FreezeBackbone = true, LearningRate = 1e-2 };

        using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data);

        var file = SafetensorsFile.Open(pretrained);
        var after = classifier.Model.state_dict();
        using var scope = NewDisposeScope();
        TensorAssert.BackboneUnchanged(file.Entries.Select(e => KeyValuePair.Create(e.Name, file.ReadTensor(e.Name))), after);
        Assert.Equal(new long[] { 2, 1280 }, after["classifier.1.weight"].shape);
        Assert.True(classifier.History[^1].TrainAccuracy >= 0.9, $"train accuracy {classifier.History[^1].TrainAccuracy}");
    }

    [Fact]
    public void A_kept_classifier_is_matched_to_the_datas_classes_by_name_and_other_names_are_refused()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var pretrained = folder.File("pretrained.safetensors");
        shapes.Classifier.Model.SaveSafetensors(pretrained);
        // The weights' rows are in the fixture's label order; these data number their labels in another order (first
        // appearance): the rows must follow the names, not the numbers.
        File.WriteAllLines(folder.File(EfficientNet.MLNet.Training.WeightsClassOrder.ClassesFile), shapes.Classifier.ClassNames);
        var ml = new MLContext(seed: 2);
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false).OrderByDescending(r => r.Label, StringComparer.Ordinal).ToList();
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(ml.Data.LoadFromEnumerable(rows));
        var data = prepare.Transform(ml.Data.LoadFromEnumerable(rows));
        // Almost no learning (the backbone frozen, a learning rate of 1e-9): the classifier stays as loaded.
        var options = ShapesFixture.Options(epochs: 1) with { PretrainedWeights = pretrained, FreezeBackbone = true, LearningRate = 1e-9, WarmupEpochs = 0 };
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("classifier", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };

        using var matched = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data);
        var otherNames = shapes.Classifier.ClassNames.Select((name, i) => i == 1 ? "hexagon" : name).ToList();
        File.WriteAllLines(folder.File(EfficientNet.MLNet.Training.WeightsClassOrder.ClassesFile), otherNames);
        var refused = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data));

        Assert.NotEqual(shapes.Classifier.ClassNames, matched.ClassNames); // the orders differ
        var test = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(8).ToList();
        var before = shapes.Classifier.Transform(shapes.Prepare.Transform(shapes.MLContext.Data.LoadFromEnumerable(test))).GetColumn<float[]>("Score").ToList();
        var after = matched.Transform(prepare.Transform(ml.Data.LoadFromEnumerable(test))).GetColumn<float[]>("Score").ToList();
        for (var i = 0; i < test.Count; i++)
            foreach (var name in matched.ClassNames)
                Assert.Equal(before[i][shapes.Classifier.ClassNames.ToList().IndexOf(name)], after[i][matched.ClassNames.ToList().IndexOf(name)], 3);
        Assert.Contains(log, m => m.Contains("were matched to the data's classes by name", StringComparison.Ordinal));
        Assert.Contains($"is for the classes {string.Join(", ", otherNames)} (in its order)", refused.Message);
        Assert.Contains($"the data's classes are {string.Join(", ", matched.ClassNames)} (in label order)", refused.Message);
    }

    [Fact]
    public void A_weights_file_gets_its_variants_normalization_unless_one_is_set_and_the_zip_keeps_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var pretrained = folder.File("pretrained.safetensors");
        shapes.Classifier.Model.SaveSafetensors(pretrained);
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 32));
        var ml = new MLContext(seed: 3);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("is no registry entry", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var half = new EfficientNet.MLNet.Imaging.PixelNormalization([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);
        var options = ShapesFixture.Options(epochs: 1) with { PretrainedWeights = pretrained };

        using var byDefault = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data);
        using var set = ml.MulticlassClassification.Trainers.EfficientNet(options with { Normalization = half }).Fit(data);
        var zip = folder.File("set.zip");
        ml.Model.Save(set, data.Schema, zip);
        using var reloaded = (EfficientNetTransformer)ml.Model.Load(zip, out _);

        Assert.True(byDefault.Normalization.SameAs(EfficientNet.MLNet.Imaging.PixelNormalization.ImageNet));
        Assert.Contains(log, m => m.Contains("as efficientnet_b0.IMAGENET1K_V1 (EfficientNet-b0's own weights) expect", StringComparison.Ordinal));
        Assert.True(set.Normalization.SameAs(half), "Options.Normalization was not used");
        Assert.True(reloaded.Normalization.SameAs(half), "the zip lost the normalization");
    }

    [Fact]
    public void The_classifier_first_schedule_trains_the_head_alone_then_the_whole_network_at_a_lower_rate()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var pretrained = folder.File("pretrained.safetensors");
        shapes.Classifier.Model.SaveSafetensors(pretrained);
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 64));
        // Constant learning rate: the first epoch is the same whatever follows it.
        var options = ShapesFixture.Options(epochs: 2) with { PretrainedWeights = pretrained, WarmupEpochs = 0, Decay = LearningRateDecay.Constant, LearningRate = 1e-2 };

        using var headOnly = new MLContext().MulticlassClassification.Trainers.EfficientNet(options with { Epochs = 1, FreezeBackbone = true }).Fit(data);
        using var scheduled = new MLContext().MulticlassClassification.Trainers.EfficientNet(options with { FrozenBackboneEpochs = 1, UnfrozenLearningRateFactor = 0.1 }).Fit(data);

        Assert.Equal(headOnly.History[0].TrainLoss, scheduled.History[0].TrainLoss); // epoch 1: the head alone, as with a frozen backbone
        Assert.Equal(1e-2, scheduled.History[0].LearningRate, 12);
        Assert.Equal(1e-3, scheduled.History[1].LearningRate, 12);
        var before = SafetensorsFile.Open(pretrained);
        using var stem = before.ReadTensor("features.0.0.weight");
        Assert.False(TensorAssert.AreIdentical(stem, scheduled.Model.state_dict()["features.0.0.weight"]), "epoch 2 trained the backbone");
        Assert.False(scheduled.Model.BackboneFrozen);
    }

    [Fact]
    public void Frozen_batch_norm_statistics_stay_as_loaded_while_the_weights_learn()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var pretrained = folder.File("pretrained.safetensors");
        shapes.Classifier.Model.SaveSafetensors(pretrained);
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 48));

        using var tuned = new MLContext().MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(epochs: 1) with
        {
            PretrainedWeights = pretrained, FreezeBatchNormStatistics = true, LearningRate = 1e-2,
        }).Fit(data);

        var before = SafetensorsFile.Open(pretrained);
        var after = tuned.Model.state_dict();
        foreach (var entry in before.Entries.Where(e => e.Name.EndsWith("running_mean", StringComparison.Ordinal) || e.Name.EndsWith("running_var", StringComparison.Ordinal)))
            using (var tensor = before.ReadTensor(entry.Name))
                Assert.True(TensorAssert.AreIdentical(tensor, after[entry.Name]), $"{entry.Name} changed although the statistics were frozen");
        using var scale = before.ReadTensor("features.1.0.block.0.1.weight");
        Assert.False(TensorAssert.AreIdentical(scale, after["features.1.0.block.0.1.weight"]), "the batch norms' scale still learns");
    }

    [Fact]
    public void Over_the_memory_budget_fit_streams_the_images_and_trains_exactly_as_from_memory()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var data = shapes.Prepare.Transform(shapes.TrainSet);
        var options = ShapesFixture.Options(epochs: 3) with { Augment = true, ValidationFraction = 0.2 };
        using var cached = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(data);

        // A budget of 100 decoded 48x48 images, under the ~300 training images: they stream in blocks of 100.
        using var streamed = ml.MulticlassClassification.Trainers.EfficientNet(options with { DecodedImageCacheBytes = 100 * 3 * 48 * 48 }).Fit(data);

        Assert.Contains(messages, m => m.Contains("streamed from the data each epoch"));
        Assert.Equal(3, streamed.History.Count);
        // The same epoch orders (a permutation of all rows, gathered block by block): the same training, step for step.
        Assert.Equal(cached.History.Select(h => h.TrainLoss), streamed.History.Select(h => h.TrainLoss));
        Assert.Equal(cached.History.Select(h => h.ValidationLoss), streamed.History.Select(h => h.ValidationLoss));
        Assert.True(streamed.History[^1].TrainLoss < streamed.History[0].TrainLoss, string.Join(", ", streamed.History.Select(h => h.TrainLoss)));
    }

    [Fact]
    public void Progress_lines_go_to_the_MLContext_log()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var data = shapes.Prepare.Transform(ml.Data.TakeRows(shapes.TrainSet, 32));

        using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(epochs: 2)).Fit(data);

        Assert.Contains(messages, m => m.Contains("epoch 1: train loss") && m.Contains("img/s"));
        Assert.Contains(messages, m => m.Contains("epoch 2: train loss"));
        Assert.Contains(messages, m => m.Contains("32 training images"));
    }
}

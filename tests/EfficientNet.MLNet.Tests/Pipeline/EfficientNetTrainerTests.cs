using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.MLNetInternals;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

[Collection(TrainingCollection.Name)]
public class EfficientNetTrainerTests(ShapesFixture shapes)
{
    [Fact]
    public void Pipeline_learns_the_drawn_shapes_to_at_least_90_percent_validation_accuracy()
    {
        var history = shapes.Classifier.History;

        Assert.Equal(15, history.Count);
        Assert.True(history[^1].ValidationAccuracy >= 0.9, $"validation accuracy by epoch: {string.Join(", ", history.Select(h => h.ValidationAccuracy))}");
        Assert.True(history[^1].TrainLoss < history[0].TrainLoss);
        // One epoch of linear warm-up to the peak, then a cosine down to 0: falling every epoch, nearly 0 at the end.
        Assert.Equal(1e-3, history[0].LearningRate, 12);
        Assert.All(history.Zip(history.Skip(1)), pair => Assert.True(pair.Second.LearningRate < pair.First.LearningRate));
        Assert.True(history[^1].LearningRate < 1e-5, $"last learning rate {history[^1].LearningRate}");
        Assert.All(history, h => Assert.True(h.ImagesPerSecond > 10, $"epoch {h.Epoch}: {h.ImagesPerSecond} images per second")); // about 100 on 2 cores
    }

    [Fact]
    public void Transformer_describes_the_model()
    {
        var classifier = shapes.Classifier;

        Assert.Equal("b0", classifier.Version);
        Assert.Equal(48, classifier.ImageSize);
        Assert.Equal(SyntheticShapes.Classes.Order(), classifier.ClassNames.Order());
        Assert.Equal(1.0, classifier.Scaling.WidthMultiplier);
    }

    [Fact]
    public void Evaluate_matches_a_manual_computation_from_the_scores()
    {
        var scored = shapes.Model.Transform(shapes.TestSet);

        var metrics = shapes.MLContext.MulticlassClassification.Evaluate(scored);

        var labels = scored.GetColumn<uint>("Label").Select(k => (int)k - 1).ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var predicted = scored.GetColumn<uint>("PredictedLabel").Select(k => (int)k - 1).ToArray();
        var classes = shapes.Classifier.ClassNames.Count;
        Assert.Equal(predicted, scores.Select(s => Array.IndexOf(s, s.Max())));
        Assert.All(scores, s => Assert.Equal(1.0, s.Sum(), 4));
        var confusion = new double[classes, classes];
        for (var i = 0; i < labels.Length; i++) confusion[labels[i], predicted[i]]++;
        var micro = Enumerable.Range(0, classes).Sum(c => confusion[c, c]) / labels.Length;
        var macro = Enumerable.Range(0, classes).Average(c => confusion[c, c] / Enumerable.Range(0, classes).Sum(p => confusion[c, p]));
        var logLoss = labels.Select((l, i) => -Math.Log(Math.Max(scores[i][l], 1e-15))).Average();
        Assert.Equal(micro, metrics.MicroAccuracy, 10);
        Assert.Equal(macro, metrics.MacroAccuracy, 10);
        Assert.Equal(logLoss, metrics.LogLoss, 5);
        for (var t = 0; t < classes; t++)
            for (var p = 0; p < classes; p++)
                Assert.Equal(confusion[t, p], metrics.ConfusionMatrix.Counts[t][p]);
        Assert.True(metrics.MicroAccuracy >= 0.9, $"test accuracy {metrics.MicroAccuracy}");
    }

    [Fact]
    public void Saved_chain_loads_in_a_fresh_process_and_scores_the_same()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var ml = shapes.MLContext;
        // The chain users build: LoadImages -> ResizeImages -> MapValueToKey -> EfficientNet -> MapKeyToValue.
        var prepare = ml.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ml.Transforms.ResizeImages("Image", 48, 48, "Loaded"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Fit(shapes.TrainSet);
        var scored = shapes.Classifier.Transform(prepare.Transform(shapes.TrainSet));
        var chain = prepare.Append<ITransformer>(shapes.Classifier)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scored));
        var zip = folder.File("model.zip");
        ml.Model.Save(chain, shapes.TrainSet.Schema, zip);
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(5)).ToList(); // 5 of each class
        File.WriteAllText(folder.File("rows.json"), JsonSerializer.Serialize(rows));
        var expected = chain.Transform(ml.Data.LoadFromEnumerable(rows));
        var expectedScores = expected.GetColumn<float[]>("Score").ToList();
        var expectedLabels = expected.GetColumn<string>("PredictedLabel").ToList();

        RunModelScorer(zip, folder.File("rows.json"), folder.File("scores.json"));

        var actual = JsonSerializer.Deserialize<ScorerOutput>(File.ReadAllText(folder.File("scores.json")))!;
        Assert.Equal(expectedLabels, actual.PredictedLabels);
        Assert.Equal(expectedScores.Count, actual.Scores.Count);
        for (var i = 0; i < expectedScores.Count; i++)
            for (var c = 0; c < expectedScores[i].Length; c++)
                Assert.Equal(expectedScores[i][c], actual.Scores[i][c], 1e-6f);
        Assert.True(expectedLabels.Zip(rows).Count(p => p.First == p.Second.Label) >= 17, "the reloaded chain predicts the drawn shapes");
    }

    [Fact]
    public void PredictionEngine_scores_single_rows_like_Transform()
    {
        var rows = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(5).ToList();
        var batch = shapes.Model.Transform(shapes.MLContext.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToList();
        // ML.NET's PredictionEngine disposes the model it was given unless told otherwise.
        using var engine = shapes.MLContext.Model.CreatePredictionEngine<LabeledImage, ScoreRow>(shapes.Model, new PredictionEngineOptions { OwnsTransformer = false });

        var single = rows.Select(r => engine.Predict(r).Score).ToList();

        for (var i = 0; i < rows.Count; i++)
            Assert.Equal(batch[i], single[i], new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void Encoded_bytes_and_pixel_vectors_score_like_loaded_images()
    {
        var ml = shapes.MLContext;
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(8).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var fromImages = shapes.Model.Transform(data).GetColumn<float[]>("Score").ToList();

        var bytes = ml.Transforms.LoadRawImageBytes("Image", "", nameof(LabeledImage.ImagePath)).Fit(data).Transform(data);
        var fromBytes = shapes.Classifier.Transform(bytes).GetColumn<float[]>("Score").ToList();
        var pixels = ml.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ml.Transforms.ResizeImages("Loaded", 48, 48))
            .Append(ml.Transforms.ExtractPixels("Image", "Loaded"))
            .Fit(data).Transform(data);
        var fromPixels = shapes.Classifier.Transform(pixels).GetColumn<float[]>("Score").ToList();

        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(fromImages[i], fromBytes[i], new ToleranceComparer(1e-4f));
            Assert.Equal(fromImages[i], fromPixels[i], new ToleranceComparer(1e-5f));
        }
    }

    [Fact]
    public void Schema_errors_name_the_column_and_what_was_expected()
    {
        var ml = shapes.MLContext;
        var trainer = ml.MulticlassClassification.Trainers.EfficientNet();
        var raw = MLNetEnvironment.Shape(shapes.TrainSet.Schema); // ImagePath and a text Label
        var withImage = MLNetEnvironment.Shape(ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(shapes.TrainSet).Transform(shapes.TrainSet).Schema);
        var textAsImage = MLNetEnvironment.Shape(ml.Transforms.CopyColumns("Image", "ImagePath").Fit(shapes.TrainSet).Transform(shapes.TrainSet).Schema);

        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(raw));
        var notKey = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(withImage));
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(textAsImage));

        Assert.Contains("image column 'Image' is not in the data", missing.Message);
        Assert.Contains("label column 'Label'", notKey.Message);
        Assert.Contains("MapValueToKey", notKey.Message);
        Assert.Contains("image column 'Image' has type String", wrongType.Message);
        Assert.Contains("LoadImages", wrongType.Message);
    }

    [Fact]
    public void Output_schema_has_score_with_class_slot_names_and_a_predicted_key()
    {
        var schema = shapes.Model.Transform(shapes.TestSet).Schema;

        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        schema["Score"].GetSlotNames(ref slotNames);
        var keyValues = default(VBuffer<ReadOnlyMemory<char>>);
        schema["PredictedLabel"].GetKeyValues(ref keyValues);
        Assert.Equal(shapes.Classifier.ClassNames, slotNames.DenseValues().Select(v => v.ToString()));
        Assert.Equal(shapes.Classifier.ClassNames, keyValues.DenseValues().Select(v => v.ToString()));
        Assert.Equal(4UL, ((KeyDataViewType)schema["PredictedLabel"].Type).Count);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_and_history()
    {
        var (first, firstHistory) = TrainSmall(seed: 5);
        var (second, secondHistory) = TrainSmall(seed: 5);

        Assert.Equal(firstHistory.Select(h => h.TrainLoss), secondHistory.Select(h => h.TrainLoss));
        foreach (var (name, tensor) in first)
            Assert.True(TensorAssert.AreIdentical(tensor, second[name]), $"{name} differs between two runs with the same seed");
    }

    [Fact]
    public void Early_stopping_puts_back_the_weights_of_an_earlier_best_epoch()
    {
        var ml = shapes.MLContext;
        var train = shapes.Prepare.Transform(ml.Data.TakeRows(shapes.TrainSet, 200));
        // Validation images labelled with the next class: the better the network learns the shapes, the worse its
        // validation loss, so an early epoch is the best one and early stopping has to go back to it.
        var wrong = ml.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false)
            .Select(r => new LabeledImage(r.ImagePath, SyntheticShapes.Classes[(SyntheticShapes.Classes.ToList().IndexOf(r.Label) + 1) % 4])).ToList();
        var validation = shapes.Prepare.Transform(ml.Data.LoadFromEnumerable(wrong));
        // Constant learning rate without warm-up: the first N epochs are the same whatever the number of epochs.
        var options = ShapesFixture.Options(epochs: 6) with
        {
            LearningRate = 2e-3, WarmupEpochs = 0, Decay = LearningRateDecay.Constant,
            ValidationSet = validation, EarlyStopping = new EarlyStopping(EarlyStoppingMetric.ValidationLoss, Patience: 2),
        };
        using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(train);
        var best = classifier.History.MinBy(h => h.ValidationLoss!.Value)!;
        using var shorter = ml.MulticlassClassification.Trainers.EfficientNet(options with { Epochs = best.Epoch, ValidationSet = null, EarlyStopping = null }).Fit(train);

        Assert.True(best.Epoch < classifier.History.Count, $"the best epoch {best.Epoch} is the last of {classifier.History.Count}: nothing was put back");
        Assert.Equal(best.Epoch + options.EarlyStopping!.Patience, classifier.History.Count); // stopped after the patience
        var kept = classifier.Model.state_dict();
        foreach (var (name, tensor) in shorter.Model.state_dict())
            Assert.True(TensorAssert.AreIdentical(tensor, kept[name]), $"{name} is not the weight of epoch {best.Epoch}");
        var scored = classifier.Transform(validation);
        var labels = scored.GetColumn<uint>("Label").Select(k => (int)k - 1).ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        Assert.Equal(best.ValidationLoss!.Value, labels.Select((l, i) => -Math.Log(scores[i][l])).Average(), 4);
    }

    [Fact]
    public void Cancellation_token_stops_fit_within_the_next_batch()
    {
        using var cancellation = new CancellationTokenSource();
        var epochs = 0;
        var batches = new List<(int Epoch, int Batch)>();
        var options = ShapesFixture.Options(epochs: 5) with
        {
            CancellationToken = cancellation.Token,
            EpochCompleted = _ => epochs++,
            // Cancelled in the middle of the first epoch: not one more batch may be trained.
            BatchCompleted = p => { batches.Add((p.Epoch, p.Batch)); if (p.Batch == 2) cancellation.Cancel(); },
        };
        var trainer = shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(options);

        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(shapes.Prepare.Transform(shapes.TrainSet)));
        Assert.Equal(new[] { (1, 1), (1, 2) }, batches);
        Assert.Equal(0, epochs);
    }

    [Fact]
    public void MLNets_own_cancellation_stops_fit()
    {
        // ML.NET cancels the catalog's environment through its internal ICancelable (as AutoML does); reached here by reflection.
        var ml = new MLContext(seed: 1);
        var environment = MLNetEnvironment.Of(ml.MulticlassClassification.Trainers);
        var cancel = environment.GetType().GetInterfaces().Single(i => i.Name == "ICancelable").GetMethod("CancelExecution")!;
        var options = ShapesFixture.Options(epochs: 5) with { EpochCompleted = _ => cancel.Invoke(environment, null) };
        var trainer = ml.MulticlassClassification.Trainers.EfficientNet(options);

        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(shapes.Prepare.Transform(shapes.TrainSet)));
    }

    [Fact]
    public void Asking_for_CUDA_without_it_is_an_error_unless_fallback_is_allowed()
    {
        Assert.SkipWhen(TorchSharp.torch.cuda.is_available(), "this machine has CUDA");
        var ml = new MLContext(seed: 1);
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 16));

        var error = Assert.Throws<EfficientNetException>(() => ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { Device = "cuda" }).Fit(data));
        ml.FallbackToCpu = true;
        using var fallback = ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { Device = "cuda" }).Fit(data);

        Assert.Contains("no CUDA device", error.Message);
        Assert.Contains("FallbackToCpu", error.Message);
        Assert.Single(fallback.History);
    }

    [Fact]
    public void An_unreadable_image_stops_fit_with_its_row_unless_told_to_skip_and_report_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bad = folder.File("not-an-image.png");
        File.WriteAllText(bad, "this is text, not a PNG");
        var rows = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false)
            .GroupBy(r => r.Label).SelectMany(g => g.Take(2)).ToList();
        rows.Insert(3, new LabeledImage(bad, rows[0].Label));
        var data = shapes.MLContext.Data.LoadFromEnumerable(rows);
        var bytes = shapes.MLContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(shapes.MLContext.Transforms.LoadRawImageBytes("Image", "", nameof(LabeledImage.ImagePath))).Fit(data).Transform(data);

        var rowError = Assert.Throws<ImageRowException>(() => shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(bytes));
        var error = rowError;
        Assert.Contains("Row 3 of the image column 'Image' in the training data", error.Message);
        Assert.Contains("not a PNG, JPEG", error.Message);
        Assert.Equal((3L, "the training data"), (rowError.Row, rowError.DataName));

        using var skipping = shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(2) with { SkipUnreadableImages = true }).Fit(bytes);

        var skipped = Assert.Single(skipping.SkippedImages);
        Assert.Equal((3L, "the training data"), (skipped.Row, skipped.DataName));
        Assert.Contains("not a PNG, JPEG", skipped.Problem);
        Assert.Equal(2, skipping.History.Count);
    }

    [Fact]
    public void A_diverging_loss_stops_fit_with_advice_and_saves_no_weights()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 64));
        var options = ShapesFixture.Options(epochs: 2) with { LearningRate = 1e30, WarmupEpochs = 0, CheckpointDirectory = folder.Path };

        var error = Assert.Throws<EfficientNetException>(() => shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(options).Fit(data));

        Assert.Matches(@"The training loss became (NaN|-?∞|-?Infinity) in epoch 1; no weights were kept\. Lower the learning rate \(now 1E\+30\), or set GradientClipNorm\.", error.Message);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Invalid_options_name_the_option_and_the_expected_value()
    {
        var catalog = shapes.MLContext.MulticlassClassification.Trainers;

        var epochs = Assert.Throws<ArgumentException>(() => catalog.EfficientNet(new EfficientNetTrainer.Options { Epochs = 0 }));
        var version = Assert.Throws<ArgumentException>(() => catalog.EfficientNet(version: "b9"));

        Assert.Contains("Epochs must be at least 1; got 0", epochs.Message);
        Assert.Contains("b0, b1, b2, b3, b4, b5, b6, b7", version.Message);
    }

    [Fact]
    public void Options_that_would_be_ignored_are_refused_naming_the_option()
    {
        var cases = new (EfficientNetTrainer.Options Options, string Option, string Expected)[]
        {
            (new() { UseEmaWeights = true }, "UseEmaWeights", "used with PretrainedWeights"),
            (new() { Augment = false, HorizontalFlip = true }, "Augment", "true when an AugmentationPolicy, RandomErasingProbability or HorizontalFlip is set"),
            (new() { Epochs = 2, WarmupEpochs = 3 }, "WarmupEpochs", "at most Epochs (2)"),
            (new() { OverwriteCheckpoint = true }, "OverwriteCheckpoint", "used with a CheckpointDirectory and without ResumeFromCheckpoint"),
            (new() { CheckpointDirectory = "checkpoints", ResumeFromCheckpoint = true, OverwriteCheckpoint = true }, "OverwriteCheckpoint", "used with a CheckpointDirectory and without ResumeFromCheckpoint"),
        };

        foreach (var (options, option, expected) in cases)
        {
            var error = Assert.Throws<ArgumentException>(() => options.Validate());
            Assert.StartsWith($"EfficientNetTrainer.Options.{option} must be {expected}", error.Message);
        }
        new EfficientNetTrainer.Options { Epochs = 1, WarmupEpochs = 1 }.Validate(); // warm-up as long as training is allowed
    }

    [Theory]
    [InlineData(1L << 30)] // decoded images kept: none is readable when Fit starts
    [InlineData(0L)] // streamed: the first validation pass reads none
    public void Early_stopping_without_a_readable_validation_image_is_an_error_not_a_silent_run_without_it(long cacheBytes)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bad = folder.File("not-an-image.png");
        File.WriteAllText(bad, "text, not a PNG");
        var ml = new MLContext(seed: 1);
        var train = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(6)).ToList();
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadRawImageBytes("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(ml.Data.LoadFromEnumerable(train));
        var options = ShapesFixture.Options(2) with
        {
            SkipUnreadableImages = true, DecodedImageCacheBytes = cacheBytes, EarlyStopping = new EarlyStopping(Patience: 1),
            ValidationSet = prepare.Transform(ml.Data.LoadFromEnumerable(new[] { new LabeledImage(bad, train[0].Label) })),
        };

        var error = Record.Exception(() => ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(prepare.Transform(ml.Data.LoadFromEnumerable(train))));

        Assert.NotNull(error);
        Assert.Contains("EarlyStopping", error.Message);
        Assert.Contains(cacheBytes > 0 ? "the ValidationSet has no readable image" : "No validation image could be read in epoch 1", error.Message);
    }

    [Fact]
    public void Infinite_or_NaN_option_values_are_refused_naming_the_option()
    {
        var cases = new (EfficientNetTrainer.Options Options, string Option)[]
        {
            (new() { WeightDecay = double.PositiveInfinity }, "WeightDecay"),
            (new() { WeightDecay = double.NaN }, "WeightDecay"),
            (new() { WarmupEpochs = double.PositiveInfinity }, "WarmupEpochs"),
            (new() { GradientClipNorm = double.PositiveInfinity }, "GradientClipNorm"),
            (new() { LearningRate = double.NaN }, "LearningRate"),
            (new() { LabelSmoothing = double.NaN }, "LabelSmoothing"),
            (new() { ValidationFraction = 0.2, EarlyStopping = new EarlyStopping(MinimumImprovement: double.PositiveInfinity) }, "EarlyStopping.MinimumImprovement"),
            (new() { ValidationFraction = 0.2, EarlyStopping = new EarlyStopping(MinimumImprovement: double.NaN) }, "EarlyStopping.MinimumImprovement"),
        };

        foreach (var (options, option) in cases)
        {
            var error = Assert.Throws<ArgumentException>(() => options.Validate());
            Assert.StartsWith($"EfficientNetTrainer.Options.{option} must be", error.Message);
        }
    }

    (Dictionary<string, TorchSharp.torch.Tensor> Weights, IReadOnlyList<EpochMetrics> History) TrainSmall(int seed)
    {
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 48));
        var options = ShapesFixture.Options(epochs: 2) with { Seed = seed, Augment = true, ValidationFraction = 0.25 };
        using var classifier = new MLContext().MulticlassClassification.Trainers.EfficientNet(options).Fit(data);
        return (classifier.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone()), classifier.History);
    }

    static void RunModelScorer(string zip, string rows, string output)
    {
        var scorer = FixturePaths.Metadata("ModelScorer");
        using var process = Process.Start(new ProcessStartInfo("dotnet") { ArgumentList = { scorer, zip, rows, output }, RedirectStandardError = true, RedirectStandardOutput = true })!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the scoring process failed: {errors.Result}");
    }

    sealed record ScorerOutput(List<float[]> Scores, List<string> PredictedLabels);

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}

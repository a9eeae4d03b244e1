using System.Text.Json;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Training;

[Collection(TrainingCollection.Name)]
public class CheckpointTests(ShapesFixture shapes) : IDisposable
{
    private readonly FixturePaths.TemporaryFolder weightsFolder = new();

    public void Dispose() => weightsFolder.Dispose();

    /// <summary>
    /// Options that start from the fixture's trained weights: 18 steps from random ones leave a network that gives every
    /// image the same probabilities, and comparing two runs' scores could not fail (the train losses still could).
    /// </summary>
    EfficientNetTrainer.Options FromTrainedWeights(EfficientNetTrainer.Options options)
    {
        var path = weightsFolder.File("shapes.safetensors");
        if (!File.Exists(path))
            shapes.Classifier.Model.SaveSafetensors(path);
        return options with { PretrainedWeights = path, PretrainedClassNames = shapes.Classifier.ClassNames };
    }
    // A quarter of the drawn shapes, validated on the held-out part: 3 epochs take a few seconds.
    IDataView Train => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 96));
    IDataView Validation => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TestSet, 48));

    EfficientNetTrainer.Options Options(string? checkpoints = null, bool resume = false) => ShapesFixture.Options(epochs: 3) with
    {
        Augment = true, ValidationSet = Validation, CheckpointDirectory = checkpoints, ResumeFromCheckpoint = resume,
    };

    EfficientNetTransformer Fit(EfficientNetTrainer.Options options) => shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(options).Fit(Train);

    static void AssertSameTraining(IReadOnlyList<EpochMetrics> expected, IReadOnlyList<EpochMetrics> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Epoch, actual[i].Epoch);
            Assert.Equal(expected[i].TrainLoss, actual[i].TrainLoss, 1e-9);
            Assert.Equal(expected[i].TrainAccuracy, actual[i].TrainAccuracy);
            Assert.Equal(expected[i].ValidationLoss!.Value, actual[i].ValidationLoss!.Value, 1e-9);
            Assert.Equal(expected[i].ValidationAccuracy, actual[i].ValidationAccuracy);
            Assert.Equal(expected[i].LearningRate, actual[i].LearningRate);
        }
    }

    [Fact]
    public void A_run_interrupted_after_an_epoch_and_resumed_ends_like_an_uninterrupted_run()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var uninterrupted = Fit(FromTrainedWeights(Options()));

        using var cancellation = new CancellationTokenSource();
        var interrupted = FromTrainedWeights(Options(folder.Path)) with { CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 1) cancellation.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() => Fit(interrupted));
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, CheckpointFolder.ManifestName))).RootElement;
        Assert.Equal(1, manifest.GetProperty("epoch").GetInt32());
        var resumedEpochs = new List<int>();
        using var resumed = Fit(FromTrainedWeights(Options(folder.Path, resume: true)) with { EpochCompleted = m => resumedEpochs.Add(m.Epoch) });

        Assert.Equal(new[] { 2, 3 }, resumedEpochs);
        AssertSameTraining(uninterrupted.History, resumed.History);
        var expected = uninterrupted.Transform(Validation).GetColumn<float[]>("Score").ToList();
        var actual = resumed.Transform(Validation).GetColumn<float[]>("Score").ToList();
        Tests.Network.CalibratedNetwork.AssertInputDependent(expected, 0.05f);
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(1e-6f));
        var runId = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, CheckpointFolder.ManifestName))).RootElement.GetProperty("runId").GetString();
        Assert.Equal(new[] { "checkpoint.json", $"{runId}-epoch-0003.optimizer.bin", $"{runId}-epoch-0003.safetensors" }.Order(StringComparer.Ordinal),
            Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Resuming_a_finished_run_trains_nothing_and_gives_the_same_model()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var options = Options(folder.Path) with { Epochs = 2 };
        using var finished = Fit(options);
        var epochs = 0;

        using var resumed = Fit(options with { ResumeFromCheckpoint = true, EpochCompleted = _ => epochs++ });

        Assert.Equal(0, epochs);
        AssertSameTraining(finished.History, resumed.History);
    }

    [Fact]
    public void Early_stopping_state_survives_a_resume()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        // Learning rate so high that validation gets worse: the best epoch is early and its weights are restored.
        var options = Options(folder.Path) with { Epochs = 4, LearningRate = 0.05, EarlyStopping = new EarlyStopping(Patience: 2) };
        using var uninterrupted = Fit(options with { CheckpointDirectory = null });
        // Else the resumed run would not need the state saved before the interruption (after epoch 2) to end the same.
        Assert.True(uninterrupted.History.MinBy(h => h.ValidationLoss)!.Epoch <= 2,
            $"the best epoch came after the interruption: {string.Join("; ", uninterrupted.History)}");
        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Fit(options with { CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 2) cancellation.Cancel(); } }));

        using var resumed = Fit(options with { ResumeFromCheckpoint = true });

        AssertSameTraining(uninterrupted.History, resumed.History);
        var expected = uninterrupted.Transform(Validation).GetColumn<float[]>("Score").ToList();
        var actual = resumed.Transform(Validation).GetColumn<float[]>("Score").ToList();
        // (The restored weights' scores may be the same for every image after so few steps: the train and validation
        // losses above are what this test rests on.)
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Resuming_with_other_options_or_a_damaged_checkpoint_is_a_clear_error()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using (Fit(Options(folder.Path) with { Epochs = 1 })) { }

        var otherRun = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1, BatchSize = 8 }));
        Assert.Contains("different run (BatchSize: checkpoint 16, this run 8)", otherRun.Message);

        var manifest = Path.Combine(folder.Path, CheckpointFolder.ManifestName);
        var original = File.ReadAllText(manifest);
        File.WriteAllText(manifest, original.Replace($"\"formatVersion\": {TrainingCheckpoint.CurrentFormatVersion}", "\"formatVersion\": 99"));
        var newer = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains($"format version 99; this library reads up to {TrainingCheckpoint.CurrentFormatVersion}", newer.Message);
        File.WriteAllText(manifest, original);

        var runId = JsonDocument.Parse(original).RootElement.GetProperty("runId").GetString();
        var optimizerState = Path.Combine(folder.Path, $"{runId}-epoch-0001.optimizer.bin");
        File.WriteAllBytes(optimizerState, File.ReadAllBytes(optimizerState)[..100]);
        var damagedOptimizer = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains($"{runId}-epoch-0001.optimizer.bin could not be read", damagedOptimizer.Message);

        File.WriteAllText(manifest, original[..40]);
        var damagedManifest = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains("checkpoint.json", damagedManifest.Message);
        Assert.Contains("is damaged", damagedManifest.Message);
    }

    [Fact]
    public void Resuming_with_any_option_that_changes_the_result_or_with_other_data_names_what_differs()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using (Fit(Options(folder.Path) with { Epochs = 1 })) { }
        var resume = Options(folder.Path, resume: true) with { Epochs = 1 };
        var changes = new (EfficientNetTrainer.Options Options, string Field)[]
        {
            (resume with { WeightDecay = 0.5 }, "WeightDecay"),
            (resume with { Momentum = 0.5 }, "Momentum"),
            (resume with { WarmupEpochs = 0 }, "WarmupEpochs"),
            (resume with { Decay = LearningRateDecay.Constant }, "Decay"),
            (resume with { LabelSmoothing = 0 }, "LabelSmoothing"),
            (resume with { Augment = false }, "Augment"),
            (resume with { RandomCropMinimumScale = 0.3 }, "RandomCropMinimumScale"),
            (resume with { EarlyStopping = new EarlyStopping(Patience: 5) }, "EarlyStopping"),
            (resume with { DropoutRate = 0.5 }, "DropoutRate"),
            (resume with { StochasticDepthProbability = 0.1 }, "StochasticDepthProbability"),
            (resume with { GradientClipNorm = 1 }, "GradientClipNorm"),
            (resume with { AugmentationPolicy = AugmentationPolicy.TrivialAugmentWide }, "AugmentationPolicy"),
            (resume with { RandomErasingProbability = 0.25 }, "RandomErasingProbability"),
            (resume with { Mixup = new Mixup() }, "Mixup"),
            (resume with { ModelEma = new ModelEma() }, "ModelEma"),
            (resume with { BalanceClasses = true }, "BalanceClasses"),
            (resume with { ClassWeights = new Dictionary<string, double> { ["circle"] = 2 } }, "ClassWeights"),
            (resume with { NormAndBiasWeightDecay = 0 }, "NormAndBiasWeightDecay"),
            (resume with { LayerLearningRateDecay = 0.5 }, "LayerLearningRateDecay"),
        };

        foreach (var (options, field) in changes)
        {
            var error = Assert.Throws<EfficientNetException>(() => Fit(options));
            Assert.Contains("different run", error.Message);
            Assert.Contains($"{field}: checkpoint ", error.Message);
        }
        // The same number of rows, other images and labels.
        var otherData = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.MLContext.Data.SkipRows(shapes.TrainSet, 96), 96));
        var data = Assert.Throws<EfficientNetException>(() => shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(resume).Fit(otherData));
        Assert.Contains("TrainLabels: checkpoint ", data.Message);
    }

    [Fact]
    public void A_fresh_run_refuses_a_folder_holding_another_runs_checkpoint_unless_told_to_overwrite_and_deletes_only_its_own_files()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        // Files the runs did not write, including one named like a checkpoint file.
        File.WriteAllText(folder.File("notes.txt"), "mine");
        File.WriteAllText(folder.File("epoch-0042.safetensors"), "not a checkpoint of these runs");
        var options = Options(folder.Path) with { Epochs = 2, LearningRate = 0.05, EarlyStopping = new EarlyStopping(Patience: 2) };
        using (Fit(options)) { }

        var refused = Assert.Throws<EfficientNetException>(() => Fit(options with { Seed = 2 }));
        using var overwritten = Fit(options with { Seed = 2, OverwriteCheckpoint = true });
        using var uninterrupted = Fit(options with { Seed = 2, CheckpointDirectory = null });

        Assert.Contains("holds the checkpoint of another run", refused.Message);
        Assert.Contains("ResumeFromCheckpoint", refused.Message);
        Assert.Contains("OverwriteCheckpoint", refused.Message);
        AssertSameTraining(uninterrupted.History, overwritten.History);
        Assert.Equal("mine", File.ReadAllText(folder.File("notes.txt")));
        Assert.True(File.Exists(folder.File("epoch-0042.safetensors")));
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, CheckpointFolder.ManifestName))).RootElement;
        var runId = manifest.GetProperty("runId").GetString()!;
        var ours = Directory.GetFiles(folder.Path).Select(Path.GetFileName).Where(n => n != "notes.txt" && n != "epoch-0042.safetensors" && n != CheckpointFolder.ManifestName).ToList();
        Assert.NotEmpty(ours);
        Assert.All(ours, name => Assert.StartsWith(runId, name));
    }

    [Fact]
    public void Resume_needs_a_checkpoint_directory()
    {
        var error = Assert.Throws<ArgumentException>(() => (Options() with { ResumeFromCheckpoint = true }).Validate());
        Assert.Contains("ResumeFromCheckpoint must be used with a CheckpointDirectory", error.Message);
    }
}

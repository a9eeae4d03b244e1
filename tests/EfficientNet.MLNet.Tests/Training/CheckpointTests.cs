using System.Text.Json;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Training;

[Collection(TrainingCollection.Name)]
public class CheckpointTests(ShapesFixture shapes)
{
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
        using var uninterrupted = Fit(Options());

        using var cancellation = new CancellationTokenSource();
        var interrupted = Options(folder.Path) with { CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 1) cancellation.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() => Fit(interrupted));
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, CheckpointFolder.ManifestName))).RootElement;
        Assert.Equal(1, manifest.GetProperty("epoch").GetInt32());
        var resumedEpochs = new List<int>();
        using var resumed = Fit(Options(folder.Path, resume: true) with { EpochCompleted = m => resumedEpochs.Add(m.Epoch) });

        Assert.Equal(new[] { 2, 3 }, resumedEpochs);
        AssertSameTraining(uninterrupted.History, resumed.History);
        var expected = uninterrupted.Transform(Validation).GetColumn<float[]>("Score").ToList();
        var actual = resumed.Transform(Validation).GetColumn<float[]>("Score").ToList();
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(1e-6f));
        Assert.Equal(new[] { "checkpoint.json", "epoch-0003.optimizer.bin", "epoch-0003.safetensors" },
            Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
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
        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Fit(options with { CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 2) cancellation.Cancel(); } }));

        using var resumed = Fit(options with { ResumeFromCheckpoint = true });

        AssertSameTraining(uninterrupted.History, resumed.History);
        var expected = uninterrupted.Transform(Validation).GetColumn<float[]>("Score").ToList();
        var actual = resumed.Transform(Validation).GetColumn<float[]>("Score").ToList();
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
        File.WriteAllText(manifest, original.Replace("\"formatVersion\": 1", "\"formatVersion\": 99"));
        var newer = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains("format version 99; this library reads up to 1", newer.Message);
        File.WriteAllText(manifest, original);

        var optimizerState = Path.Combine(folder.Path, "epoch-0001.optimizer.bin");
        File.WriteAllBytes(optimizerState, File.ReadAllBytes(optimizerState)[..100]);
        var damagedOptimizer = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains("epoch-0001.optimizer.bin could not be read", damagedOptimizer.Message);

        File.WriteAllText(manifest, original[..40]);
        var damagedManifest = Assert.Throws<EfficientNetException>(() => Fit(Options(folder.Path, resume: true) with { Epochs = 1 }));
        Assert.Contains("checkpoint.json", damagedManifest.Message);
        Assert.Contains("is damaged", damagedManifest.Message);
    }

    [Fact]
    public void Resume_needs_a_checkpoint_directory()
    {
        var error = Assert.Throws<ArgumentException>(() => (Options() with { ResumeFromCheckpoint = true }).Validate());
        Assert.Contains("ResumeFromCheckpoint must be used with a CheckpointDirectory", error.Message);
    }
}

using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Training;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>
/// 'efficientnet train --checkpoint-dir' in a child process killed with SIGKILL (Process.Kill on Linux) after its
/// first checkpoint, then '--resume': the finished run's metrics equal those of a run that was never interrupted.
/// </summary>
[Collection(TrainingCollection.Name)]
public class KilledTrainingTests
{
    static List<JsonElement> Epochs(string metricsFile) =>
        JsonDocument.Parse(File.ReadAllText(metricsFile)).RootElement.GetProperty("epochs").EnumerateArray().ToList();

    [Theory]
    [InlineData("")]
    // Every option of the training recipe on: augmentation policy, erasing, mixing, moving average, class weights, parameter groups.
    [InlineData("--augment-policy trivialaugment --random-erasing 0.25 --mixup 0.2 --cutmix 1 --mixup-off-epoch 4 --model-ema 0.9 --balance-classes --norm-weight-decay 0 --layer-decay 0.8")]
    public void A_run_killed_after_a_checkpoint_and_resumed_finishes_with_the_metrics_of_an_uninterrupted_run(string recipe)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 16, size: 32, seed: 3);
        var training = new[] { "train", "--data", data, "--epochs", "5", "--resolution", "32", "--validation-fraction", "0.25", "--seed", "5" }
            .Concat(recipe.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var checkpoints = folder.File("checkpoints");
        var withCheckpoints = training.Concat(new[] { "--checkpoint-dir", checkpoints, "--output", folder.File("resumed/model.zip") }).ToList();

        var uninterrupted = CliProcess.Run(training.Concat(new[] { "--output", folder.File("uninterrupted/model.zip") }));
        Assert.True(uninterrupted.Exit == 0, uninterrupted.Output);

        int killedAfterEpoch;
        using (var victim = CliProcess.Start(withCheckpoints))
        {
            var manifest = Path.Combine(checkpoints, CheckpointFolder.ManifestName);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(manifest) && !victim.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
                Thread.Sleep(10);
            Assert.False(victim.HasExited, "the run finished before it could be killed");
            victim.Kill();
            victim.WaitForExit();
            killedAfterEpoch = JsonDocument.Parse(File.ReadAllText(manifest)).RootElement.GetProperty("epoch").GetInt32();
        }
        Assert.InRange(killedAfterEpoch, 1, 4);
        Assert.False(File.Exists(folder.File("resumed/model.zip")));

        var resumed = CliProcess.Run(withCheckpoints.Append("--resume"));

        Assert.True(resumed.Exit == 0, resumed.Output);
        Assert.Contains("Resuming from the checkpoint", resumed.Output);
        var expected = Epochs(folder.File("uninterrupted/metrics.json"));
        var actual = Epochs(folder.File("resumed/metrics.json"));
        Assert.Equal(5, actual.Count);
        foreach (var metric in new[] { "TrainLoss", "TrainAccuracy", "ValidationLoss", "ValidationAccuracy", "LearningRate" })
            for (var epoch = 0; epoch < 5; epoch++)
                Assert.True(Math.Abs(expected[epoch].GetProperty(metric).GetDouble() - actual[epoch].GetProperty(metric).GetDouble()) <= 1e-9,
                    $"{metric} of epoch {epoch + 1} differs after a kill after epoch {killedAfterEpoch}");
    }
}

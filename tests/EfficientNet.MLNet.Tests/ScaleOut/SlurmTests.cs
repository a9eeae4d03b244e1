using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// examples/ScaleOut/slurm on a real Slurm (slurmctld and slurmd on this machine, <see cref="SlurmCluster"/>): a job
/// array scores the shards of a list with `efficientnet predict`, a dependent job merges them; the merged lines equal one
/// process's (1e-5) with every path exactly once; a task killed on purpose fails its shard only, the merge never runs and
/// nothing is written, and submitting again scores just the missing shard. Skipped, with the reason, where Slurm cannot
/// be started (not root, packages missing); .ci/run installs them and runs it as root.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class SlurmTests : IDisposable
{
    const int Shards = 4;
    static readonly TimeSpan JobBound = TimeSpan.FromMinutes(4);
    private readonly FixturePaths.TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    static string Script(string name) => Path.Combine(FixturePaths.Metadata("RepositoryRoot"), "examples", "ScaleOut", "slurm", name);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_job_array_scores_every_listed_image_once_as_one_process_and_a_killed_task_is_redone_alone()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Slurm runs on Linux only");
        var whyNot = SlurmCluster.WhyNot();
        Assert.SkipWhen(whyNot is not null, whyNot ?? "");
        var (images, model) = QuickCliModel.Train(folder, imagesPerClass: 5, seed: 16);
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not an image");
        var listed = images.Select(i => i.ImagePath).ToList();
        listed.Insert(7, broken);
        var list = folder.File("list.txt");
        File.WriteAllLines(list, new[] { "# images to score" }.Concat(listed));
        // The command the tasks run: the CLI, through a wrapper that logs each run and, when asked, kills the task of shard
        // 2 once (SIGKILL of the whole task, as an out-of-memory kill or a lost node would).
        var runs = folder.File("runs.log");
        var wrapper = folder.File("efficientnet.sh");
        File.WriteAllText(wrapper, $$"""
            #!/usr/bin/env bash
            echo "$SLURM_ARRAY_TASK_ID" >> {{runs}}
            if [ -n "${KILL_SHARD:-}" ] && [ "$SLURM_ARRAY_TASK_ID" = "$KILL_SHARD" ] && [ ! -e "{{folder.File("killed")}}" ]; then
              touch "{{folder.File("killed")}}"; kill -9 $PPID $$
            fi
            exec dotnet {{FixturePaths.Metadata("Cli")}} "$@"
            """);
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var single = folder.File("single.jsonl");
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, EfficientNetCli.Run(["predict", "--model", model, "--list", list, "--output", single, "--top", "0", "--skip-unreadable"], TextWriter.Null, TextWriter.Null));
        var oneProcess = clock.Elapsed;

        using var slurm = new SlurmCluster();
        (string Array, string Merge) Submit(string output, string results, bool kill)
        {
            var environment = new Dictionary<string, string> { ["EFFICIENTNET"] = wrapper };
            if (kill)
                environment["KILL_SHARD"] = "2";
            var (exit, text, error) = slurm.RunWithExit("bash", [Script("submit-scoring.sh"), model, list, output, results, Shards.ToString(), "1", "2", "--", "--top", "0", "--skip-unreadable"], environment);
            Assert.True(exit == 0, text + error);
            var ids = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(' ')[0], l => l.Split(' ')[1]);
            return (ids["array"], ids["merge"]);
        }

        // A clean run: the array (throttled to 2 at once) and the merge.
        var results = folder.File("out/results.jsonl");
        clock.Restart();
        var clean = Submit(folder.File("work"), results, kill: false);
        slurm.WaitForJobs(JobBound, clean.Array, clean.Merge);
        var arrayTime = clock.Elapsed;

        // A run whose shard 2 is killed: the merge is cancelled with it and writes nothing; submitting again redoes shard 2 alone.
        File.Delete(runs);
        var failedResults = folder.File("out/failed.jsonl");
        var failing = Submit(folder.File("work-killed"), failedResults, kill: true);
        slurm.WaitForJobs(JobBound, failing.Array, failing.Merge);
        var afterKill = File.Exists(failedResults);
        var killedState = slurm.State($"{failing.Array}_2");
        var mergeState = slurm.State(failing.Merge);
        var firstRuns = File.ReadAllLines(runs).Order().ToList();
        File.Delete(runs);
        var again = Submit(folder.File("work-killed"), failedResults, kill: true);
        slurm.WaitForJobs(JobBound, again.Array, again.Merge);
        var secondRuns = File.ReadAllLines(runs).ToList();

        var expected = Lines(single);
        foreach (var path in new[] { results, failedResults })
        {
            Assert.True(File.Exists(path), $"{path} was not written: {Logs(folder.File("work"))}");
            var lines = Lines(path);
            Assert.Equal(listed, lines.Select(l => l.GetProperty("image").GetString()));
            for (var i = 0; i < listed.Count; i++)
            {
                Assert.Equal(expected[i].TryGetProperty("error", out _), lines[i].TryGetProperty("error", out _));
                Assert.Equal(Probabilities(expected[i]), Probabilities(lines[i]), new ToleranceComparer(1e-5f));
            }
        }
        Assert.False(afterKill, "the merge ran although a task was killed");
        Assert.Equal("FAILED", killedState);
        Assert.Equal("CANCELLED", mergeState);
        Assert.Equal(new[] { "0", "1", "2", "3" }, firstRuns);
        Assert.Equal(new[] { "2" }, secondRuns); // the shards done before were skipped, not scored again
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{listed.Count} images: one process {oneProcess.TotalSeconds:F1} s; array of {Shards} shards (2 at once) and merge {arrayTime.TotalSeconds:F1} s");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Distributed_training_runs_through_srun_and_torchrun_and_its_checkpoint_fine_tunes_here()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Slurm runs on Linux only");
        var whyNot = SlurmCluster.WhyNot() ?? (File.Exists("/usr/bin/torchrun") && EfficientNet.MLNet.Tests.Network.TorchvisionEquivalenceTests.TorchvisionIsInstalled()
            ? null : "needs Debian's python3-torch and python3-torchvision (torchrun, Gloo); .ci/run installs them");
        Assert.SkipWhen(whyNot is not null, whyNot ?? "");
        var data = folder.File("data");
        var images = EfficientNet.MLNet.Datasets.SyntheticShapes.Write(data, imagesPerClass: 8, size: 64, seed: 33);
        var output = folder.File("ddp");

        using var slurm = new SlurmCluster();
        var job = slurm.Run("sbatch", "--parsable", "--nodes=1", $"--cpus-per-task={Environment.ProcessorCount}", $"--output={folder.File("ddp-%j.out")}",
            Script("train-ddp.sbatch"), data, output, "--epochs", "1", "--size", "64").Trim();
        slurm.WaitForJobs(JobBound, job);
        var log = string.Join("\n", Directory.GetFiles(folder.Path, "ddp-*.out").Select(File.ReadAllText));

        Assert.True(slurm.State(job) == "COMPLETED", log);
        Assert.Contains("training on 1 node(s) x 2 rank(s)", log);
        Assert.Contains("epoch 0: the 2 ranks hold identical weights", log);
        Assert.True(File.Exists(Path.Combine(output, "checkpoint.pth")) && File.Exists(Path.Combine(output, "classes.txt")), log);

        // The checkpoint fine-tunes here (its classes matched by name to the data's label order) and exports.
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var said = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("classifier", StringComparison.Ordinal)) lock (said) said.Add(e.Message); };
        var rows = ml.Data.LoadFromEnumerable(images);
        var prepared = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(EfficientNet.MLNet.Datasets.LabeledImage.ImagePath))).Fit(rows).Transform(rows);
        using var tuned = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
        {
            PretrainedWeights = Path.Combine(output, "checkpoint.pth"), ImageSize = 64, Epochs = 1, BatchSize = 8, LearningRate = 1e-4, Augment = false, Seed = 1,
        }).Fit(prepared);
        tuned.ExportOnnx(folder.File("tuned.onnx"));

        Assert.Contains(said, m => m.Contains("0 classifier tensors start fresh", StringComparison.Ordinal));
        Assert.Contains(said, m => m.Contains("by name", StringComparison.Ordinal) || m.Contains("in the data's order", StringComparison.Ordinal));
        Assert.True(new FileInfo(folder.File("tuned.onnx")).Length > 1_000_000);
    }

    static List<JsonElement> Lines(string path) => File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    static float[] Probabilities(JsonElement line) => line.TryGetProperty("top", out var top)
        ? top.EnumerateArray().OrderBy(t => t.GetProperty("index").GetInt32()).Select(t => t.GetProperty("probability").GetSingle()).ToArray()
        : [];

    static string Logs(string work) => Directory.Exists(Path.Combine(work, "logs"))
        ? string.Join("\n", Directory.GetFiles(Path.Combine(work, "logs")).Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f)}"))
        : "(no logs)";
}

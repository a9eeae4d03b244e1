using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>examples/ScaleOut/score-sharded.sh: N processes of `efficientnet predict` over the shards of a list, merged.</summary>
[Collection(TrainingCollection.Name)]
public sealed class ShardedScoringTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly List<string> listed;
    private readonly string model;

    public ShardedScoringTests()
    {
        (var images, model) = QuickCliModel.Train(folder, imagesPerClass: 8, seed: 9);
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not an image");
        listed = images.Select(i => i.ImagePath).ToList();
        listed.Insert(11, broken);
    }

    public void Dispose() => folder.Dispose();

    static (int Exit, string Output) Script(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(FixturePaths.Metadata("RepositoryRoot"), "examples", "ScaleOut", "score-sharded.sh"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["EFFICIENTNET"] = $"dotnet {FixturePaths.Metadata("Cli")}";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    static List<JsonElement> Lines(string path) => File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement).ToList();

    static float[] Probabilities(JsonElement line) => line.TryGetProperty("top", out var top)
        ? top.EnumerateArray().OrderBy(t => t.GetProperty("index").GetInt32()).Select(t => t.GetProperty("probability").GetSingle()).ToArray()
        : Array.Empty<float>();

    [Fact]
    public void Shards_score_every_listed_file_exactly_once_as_one_process_does()
    {
        var list = folder.File("list.txt");
        File.WriteAllLines(list, new[] { "# the images" }.Concat(listed));
        var sharded = folder.File("out/sharded.jsonl");
        var single = folder.File("single.jsonl");

        var run = Script(model, list, sharded, "3", "--", "--top", "0", "--skip-unreadable");
        var one = EfficientNetCli.Run(new[] { "predict", "--model", model, "--list", list, "--output", single, "--top", "0", "--skip-unreadable" }, TextWriter.Null, TextWriter.Null);

        Assert.True(run.Exit == 0, run.Output);
        Assert.Contains($"score-sharded: {listed.Count} images in 3 shards", run.Output);
        Assert.Equal(0, one);
        var shardedLines = Lines(sharded);
        var singleLines = Lines(single);
        Assert.Equal(listed, shardedLines.Select(l => l.GetProperty("image").GetString()));
        Assert.Equal(listed.Count, shardedLines.Select(l => l.GetProperty("image").GetString()).Distinct().Count());
        Assert.True(shardedLines[11].TryGetProperty("error", out _), "the broken file has its error line");
        Assert.True(singleLines[11].TryGetProperty("error", out _), "the broken file has its error line in one process too");
        var classes = Directory.GetDirectories(folder.File("data")).Length;
        for (var i = 0; i < listed.Count; i++)
        {
            if (i == 11)
                continue;
            // Scores on both sides (an error line on both would compare two empty lists), one per class, summing to 1.
            var expected = Probabilities(singleLines[i]);
            Assert.Equal(classes, expected.Length);
            Assert.Equal(1.0, expected.Sum(), 3);
            Assert.Equal(expected, Probabilities(shardedLines[i]), new ToleranceComparer(1e-5f));
        }
    }

    [Fact]
    public void A_failing_shard_fails_the_run_and_writes_no_merged_file()
    {
        var list = folder.File("list.txt");
        File.WriteAllLines(list, listed);
        var results = folder.File("failed.jsonl");

        var run = Script(model, list, results, "2"); // no --skip-unreadable: the shard with the broken file stops
        var noModel = Script(folder.File("none.zip"), list, results, "2");
        var badShards = Script(model, list, results, "zero");

        Assert.Equal(1, run.Exit);
        Assert.Contains("score-sharded: shard 0", run.Output);
        Assert.Contains("broken.png", run.Output);
        Assert.False(File.Exists(results), "a failed run wrote the merged file");
        Assert.Equal((2, true), (noModel.Exit, noModel.Output.Contains("none.zip' does not exist")));
        Assert.Equal((2, true), (badShards.Exit, badShards.Output.Contains("SHARDS must be a positive number")));
    }
}

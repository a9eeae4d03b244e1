using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>predict and evaluate for batch jobs: --list, --output results.jsonl, --skip-unreadable, --batch-size, --threads, --device.</summary>
[Collection(TrainingCollection.Name)]
public sealed class BatchScoringCliTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly IReadOnlyList<LabeledImage> images;
    private readonly string model;

    public BatchScoringCliTests() => (images, model) = QuickCliModel.Train(folder, imagesPerClass: 4, seed: 8);

    public void Dispose() => folder.Dispose();

    static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    static List<JsonElement> Lines(string path) => File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement).ToList();

    /// <summary>One prediction's probabilities of every class, in class order (from `predict --top 0 --json`).</summary>
    internal static float[] AllProbabilities(JsonElement prediction) =>
        prediction.GetProperty("top").EnumerateArray().OrderBy(t => t.GetProperty("index").GetInt32()).Select(t => t.GetProperty("probability").GetSingle()).ToArray();

    [Fact]
    public void A_list_is_scored_in_its_order_into_json_lines_with_unreadable_files_listed_and_the_same_scores()
    {
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not an image");
        var missing = folder.File("missing.png");
        // A PNG whose compressed pixels are damaged: the header check lets it through, the pipeline's decode does not.
        var damaged = folder.File("damaged.png");
        var bytes = File.ReadAllBytes(images[0].ImagePath);
        bytes.AsSpan(bytes.AsSpan().IndexOf("IDAT"u8) + 4, 36).Fill(0xFF);
        File.WriteAllBytes(damaged, bytes);
        var listed = images.Select(i => i.ImagePath).ToList();
        listed.Insert(3, broken);
        listed.Insert(6, damaged);
        listed.Insert(9, missing);
        var list = folder.File("list.txt");
        File.WriteAllLines(list, new[] { "# one path a line" }.Concat(listed).Append(""));
        var results = folder.File("out/results.jsonl");

        var batched = Run("predict", "--model", model, "--list", list, "--skip-unreadable", "--output", results, "--top", "0",
            "--batch-size", "5", "--threads", "1", "--device", "cpu");
        var plain = Run("predict", "--model", model, "--top", "0", "--json", images[0].ImagePath, images[1].ImagePath, images[2].ImagePath, images[3].ImagePath);

        Assert.True(batched.Exit == 0, batched.Error);
        Assert.Contains($"Scored 16 images, skipped 3 unreadable ones: {results}", batched.Output);
        var lines = Lines(results);
        Assert.Equal(listed, lines.Select(l => l.GetProperty("image").GetString()));
        Assert.Contains("are not a PNG, JPEG", lines[3].GetProperty("error").GetString());
        Assert.Contains($"The image '{damaged}' cannot be decoded", lines[6].GetProperty("error").GetString());
        Assert.Contains("does not exist", lines[9].GetProperty("error").GetString());
        Assert.All(lines.Where((_, i) => i is not (3 or 6 or 9)), l => Assert.Equal(1f, AllProbabilities(l).Sum(), 3));
        // Batches of 5 on one thread score as the default batches do, within rounding.
        var single = JsonDocument.Parse(plain.Output).RootElement.EnumerateArray().ToList();
        foreach (var (line, expected) in new[] { lines[0], lines[1], lines[2], lines[4] }.Zip(single))
            Assert.Equal(AllProbabilities(expected), AllProbabilities(line), new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void Results_are_written_a_batch_at_a_time_so_a_stop_keeps_the_batches_scored_before_it()
    {
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not an image");
        var listed = images.Take(6).Select(i => i.ImagePath).Append(broken).Concat(images.Skip(6).Select(i => i.ImagePath)).ToList();
        var list = folder.File("list.txt");
        File.WriteAllLines(list, listed);
        var results = folder.File("results.jsonl");

        var stopped = Run("predict", "--model", model, "--list", list, "--output", results, "--batch-size", "4");
        var missingLine = Run("predict", "--model", model, "--list", list.Replace("list.txt", "other.txt"));
        File.WriteAllLines(folder.File("gone.txt"), new[] { images[0].ImagePath, folder.File("gone.png") });
        var missingImage = Run("predict", "--model", model, "--list", folder.File("gone.txt"));

        Assert.Equal(2, stopped.Exit);
        Assert.Contains($"The file '{broken}': the 12 bytes are not a PNG", stopped.Error);
        Assert.Contains("--skip-unreadable", stopped.Error);
        // The first batch (4 images) was written; the second, with the broken file, was not scored.
        Assert.Equal(listed.Take(4), Lines(results).Select(l => l.GetProperty("image").GetString()));
        Assert.Equal((2, true), (missingLine.Exit, missingLine.Error.Contains("The list file") && missingLine.Error.Contains("other.txt")));
        Assert.Equal((2, true), (missingImage.Exit, missingImage.Error.Contains("(line 2 of") && missingImage.Error.Contains("gone.png")));
    }

    [Fact]
    public void Evaluate_reads_a_labelled_list_writes_each_result_and_skips_unreadable_images()
    {
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not an image");
        var list = folder.File("labelled.txt");
        // Path only (the class is the folder's name), path<TAB>class, and an unreadable one.
        File.WriteAllLines(list, images.Select((image, i) => i % 2 == 0 ? image.ImagePath : $"{image.ImagePath}\t{image.Label}").Append($"{broken}\tcircle"));
        var results = folder.File("evaluated.jsonl");

        var evaluated = Run("evaluate", "--model", model, "--list", list, "--skip-unreadable", "--output", results, "--json", "--batch-size", "3");
        var byFolder = Run("evaluate", "--model", model, "--data", folder.File("data"), "--json");
        var stopped = Run("evaluate", "--model", model, "--list", list);
        var both = Run("evaluate", "--model", model, "--list", list, "--data", folder.File("data"));

        Assert.True(evaluated.Exit == 0, evaluated.Error);
        var report = JsonDocument.Parse(evaluated.Output).RootElement;
        Assert.Equal(16, report.GetProperty("ConfusionMatrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetDouble()));
        // The same images through the folder give the same metrics.
        Assert.Equal(JsonDocument.Parse(byFolder.Output).RootElement.GetProperty("MicroAccuracy").GetDouble(), report.GetProperty("MicroAccuracy").GetDouble(), 10);
        Assert.Equal(JsonDocument.Parse(byFolder.Output).RootElement.GetProperty("LogLoss").GetDouble(), report.GetProperty("LogLoss").GetDouble(), 5);
        var lines = Lines(results);
        Assert.Equal(17, lines.Count);
        Assert.Equal(images.Select(i => i.Label), lines.Take(16).Select(l => l.GetProperty("label").GetString()));
        Assert.All(lines.Take(16), l => Assert.Equal(l.GetProperty("label").GetString() == l.GetProperty("predicted").GetString(), l.GetProperty("correct").GetBoolean()));
        Assert.Equal(report.GetProperty("MicroAccuracy").GetDouble(), lines.Take(16).Count(l => l.GetProperty("correct").GetBoolean()) / 16.0, 10);
        Assert.Contains("are not a PNG", lines[16].GetProperty("error").GetString());
        Assert.Equal((2, true), (stopped.Exit, stopped.Error.Contains(broken)));
        Assert.Equal((2, true), (both.Exit, both.Error.Contains("either --data")));
    }

    [Fact]
    public void Explain_writes_a_heat_map_overlay_per_image_named_after_it()
    {
        var output = folder.File("explained");
        var copy = folder.File("elsewhere/" + Path.GetFileName(images[0].ImagePath));
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(images[0].ImagePath, copy);

        var explained = Run("explain", "--model", model, images[0].ImagePath, copy, images[5].ImagePath, "--output", output, "--class", "square");
        var unknown = Run("explain", "--model", model, images[0].ImagePath, "--output", output, "--class", "hexagon");
        var head = Run("explain", "--model", model, images[0].ImagePath, "--output", folder.File("head"), "--layer", "8");
        var noSuchLayer = Run("explain", "--model", model, images[0].ImagePath, "--output", folder.File("head"), "--layer", "9");

        Assert.True(explained.Exit == 0, explained.Error);
        var stem = Path.GetFileNameWithoutExtension(images[0].ImagePath);
        var written = new[] { $"{stem}.gradcam.png", $"{stem}-2.gradcam.png", $"{Path.GetFileNameWithoutExtension(images[5].ImagePath)}.gradcam.png" };
        Assert.Equal(written.Order(), Directory.GetFiles(output).Select(Path.GetFileName).Order());
        foreach (var file in written)
            using (var bitmap = SkiaSharp.SKBitmap.Decode(Path.Combine(output, file)))
                Assert.Equal((32, 32), (bitmap.Width, bitmap.Height));
        Assert.Equal(3, explained.Output.Split('\n').Count(line => line.Contains(": square ") && line.Contains(" -> ")));
        Assert.Equal((2, true), (unknown.Exit, unknown.Error.Contains("--class 'hexagon' is not a class of the model")));
        // b0 at 32 px: by default the deepest layer with a map of at least 7 cells; the head's map is one cell.
        Assert.Contains("Explaining features[2] (8 x 8 cells at 32 px)", explained.Output);
        Assert.True(head.Exit == 0, head.Error);
        Assert.Contains("Explaining features[8] (1 x 1 cells at 32 px)", head.Output);
        Assert.Equal((2, true), (noSuchLayer.Exit, noSuchLayer.Error.Contains("--layer must be between 0 and 8")));
    }

    [Fact]
    public void Device_and_thread_options_are_checked_and_a_missing_gpu_is_named()
    {
        var unknown = Run("predict", "--model", model, images[0].ImagePath, "--device", "tpu");
        var zeroThreads = Run("predict", "--model", model, images[0].ImagePath, "--threads", "0");
        var gpu = Run("predict", "--model", model, images[0].ImagePath, "--device", "cuda");
        var withWeights = Run("predict", "--weights", "imagenet", "--version", "b0", images[0].ImagePath, "--batch-size", "8");

        Assert.Equal((2, true), (unknown.Exit, unknown.Error.Contains("--device must be auto, cpu, cuda or cuda:N; got 'tpu'")));
        Assert.Equal((2, true), (zeroThreads.Exit, zeroThreads.Error.Contains("--threads must be at least 1")));
        Assert.Equal((1, true), (gpu.Exit, gpu.Error.Contains("CUDA")));
        Assert.Equal((2, true), (withWeights.Exit, withWeights.Error.Contains("--batch-size works with --model")));
    }
}

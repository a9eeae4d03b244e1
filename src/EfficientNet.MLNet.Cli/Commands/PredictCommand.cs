using System.CommandLine;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet predict --model model.zip image-or-folder... [--top K] [--json]</c>: the most probable classes per
/// image. Or, with pretrained weights used as they are, <c>--weights NAME|FILE [--version bN] [--labels labels.txt]</c>:
/// preprocessed as the weights were evaluated (a registry entry's resize, crop, filter, mean and std; torchvision's
/// for a file).
/// </summary>
internal static class PredictCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string?>("--model") { Description = "A model zip written by train" };
        var weights = new Option<string?>("--weights") { Description = "Or: pretrained weights used as they are: a name ('efficientnet weights list'; imagenet with --version) or a .safetensors/.pth file" };
        var version = new Option<string?>("--version") { Description = "With --weights: b0 to b7, v2_s, v2_m, v2_l or tf_b0 .. tf_v2_l (needed for a file, and for imagenet)" };
        var ema = new Option<bool>("--ema") { Description = "With --weights a training checkpoint: use its moving average of the weights" };
        var labels = new Option<string?>("--labels") { Description = "With --weights: a text file with one class name per line, in the classifier's order (default: the weights' categories)" };
        var inputs = new Argument<string[]>("images") { Description = "Image files or folders of images", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "Classes to show per image (0: all)", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the predictions as JSON" };
        var engine = EngineOption.Create();
        var tta = TestTimeAugmentationOption.Create();
        var command = new Command("predict", "Classify images with a trained model, or with pretrained weights") { model, weights, version, ema, labels, inputs, top, json, engine, tta };
        command.SetAction(parse =>
        {
            var k = parse.GetValue(top);
            if (k < 0) throw new CliInputException($"--top must be 0 (all classes) or more; got {k}.");
            var paths = parse.GetValue(inputs)!.SelectMany(Expand).ToList();
            if (paths.Count == 0) throw new CliInputException("No image files were found in the given paths.");
            ImageCheck.RequireReadable(paths);
            if (parse.GetValue(weights) is not null && TestTimeAugmentationOption.Parse(parse.GetValue(tta)) != TestTimeAugmentation.None)
                throw new CliInputException("--tta works with --model (a zip written by train), not with --weights.");
            var (classes, scores) = (parse.GetValue(model), parse.GetValue(weights)) switch
            {
                ({ } zip, null) => WithModel(zip, paths, EngineOption.Parse(parse.GetValue(engine)), TestTimeAugmentationOption.Parse(parse.GetValue(tta))),
                (null, { } named) => WithWeights(named, parse.GetValue(version), parse.GetValue(ema), parse.GetValue(labels), paths, EngineOption.Parse(parse.GetValue(engine)), parse.GetValue(json) ? TextWriter.Null : output),
                _ => throw new CliInputException("Give either --model (a zip written by train) or --weights (pretrained weights), not both."),
            };
            var count = k == 0 ? classes.Count : Math.Min(k, classes.Count);
            var predictions = paths.Select((path, i) => new
            {
                image = path,
                top = scores[i].Select((p, c) => new { label = classes[c], index = c, probability = p })
                    .OrderByDescending(x => x.probability).Take(count).ToList(),
            }).ToList();
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(predictions, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var p in predictions)
                output.WriteLine($"{p.image}: {string.Join(", ", p.top.Select(t => $"{t.label} {t.probability:P1}"))}");
            return 0;
        });
        return command;
    }

    static (IReadOnlyList<string> Classes, IReadOnlyList<float[]> Scores) WithModel(string zip, IReadOnlyList<string> paths, ScoringEngine engine, TestTimeAugmentation views)
    {
        var ml = new MLContext();
        var loaded = ModelFile.Load(ml, zip, engine, views);
        var scored = loaded.Model.Transform(ml.Data.LoadFromEnumerable(paths.Select(p => new LabeledImage(p, ""))));
        return (loaded.Classes, scored.GetColumn<float[]>("Score").ToList());
    }

    static (IReadOnlyList<string> Classes, IReadOnlyList<float[]> Scores) WithWeights(string weights, string? version, bool ema, string? labelsFile, IReadOnlyList<string> paths,
        ScoringEngine engine, TextWriter output)
    {
        if (labelsFile is not null && !File.Exists(labelsFile))
            throw new CliInputException($"The labels file '{labelsFile}' does not exist.");
        var names = labelsFile is null ? null : File.ReadAllLines(labelsFile).Where(line => line.Length > 0).ToList();
        using var classifier = PretrainedClassifier.Load(weights, version, names, progress: WeightsDownloadDisplay.Lines(output), useEmaWeights: ema);
        classifier.ScoringEngine = engine;
        return (classifier.Labels, classifier.Classify(paths.Select(File.ReadAllBytes).ToList()));
    }

    static IEnumerable<string> Expand(string path)
    {
        if (Directory.Exists(path))
            return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(ImageFolderDataset.IsImage).Order(StringComparer.Ordinal).Select(Path.GetFullPath);
        if (File.Exists(path))
            return new[] { Path.GetFullPath(path) };
        throw new CliInputException($"'{path}' is neither an image file nor a folder.");
    }
}

using System.CommandLine;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary><c>efficientnet predict --model model.zip image-or-folder... [--top K] [--json]</c>: the most probable classes per image.</summary>
internal static class PredictCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string>("--model") { Description = "A model zip written by train", Required = true };
        var inputs = new Argument<string[]>("images") { Description = "Image files or folders of images", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "Classes to show per image (0: all)", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the predictions as JSON" };
        var command = new Command("predict", "Classify images with a trained model") { model, inputs, top, json };
        command.SetAction(parse =>
        {
            var k = parse.GetValue(top);
            if (k < 0) throw new CliInputException($"--top must be 0 (all classes) or more; got {k}.");
            var paths = parse.GetValue(inputs)!.SelectMany(Expand).ToList();
            if (paths.Count == 0) throw new CliInputException("No image files were found in the given paths.");
            ImageCheck.RequireReadable(paths);
            var ml = new MLContext();
            var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            var scored = loaded.Model.Transform(ml.Data.LoadFromEnumerable(paths.Select(p => new LabeledImage(p, ""))));
            var scores = scored.GetColumn<float[]>("Score").ToList();
            var count = k == 0 ? loaded.Classes.Count : Math.Min(k, loaded.Classes.Count);
            var predictions = paths.Select((path, i) => new
            {
                image = path,
                top = scores[i].Select((p, c) => new { label = loaded.Classes[c], index = c, probability = p })
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

    static IEnumerable<string> Expand(string path)
    {
        if (Directory.Exists(path))
            return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(ImageFolderDataset.IsImage).Order(StringComparer.Ordinal).Select(Path.GetFullPath);
        if (File.Exists(path))
            return new[] { Path.GetFullPath(path) };
        throw new CliInputException($"'{path}' is neither an image file nor a folder.");
    }
}

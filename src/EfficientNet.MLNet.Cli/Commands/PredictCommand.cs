using System.CommandLine;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet predict --model model.zip image-or-folder... [--list paths.txt] [--top K] [--json | --output results.jsonl]</c>:
/// the most probable classes per image, scored a batch at a time; for a multi-label model, every label over its
/// threshold ("labels", possibly none) and the most probable labels. Or, with pretrained weights used as they are, <c>--weights NAME|FILE [--version bN] [--labels labels.txt]</c>:
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
        var inputs = new Argument<string[]>("images") { Description = "Image files or folders of images", Arity = ArgumentArity.ZeroOrMore };
        var list = new Option<string?>("--list") { Description = "A text file of image paths, one a line (with or instead of the image arguments)" };
        var top = new Option<int>("--top") { Description = "Classes to show per image (0: all)", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the predictions as JSON" };
        var results = new Option<string?>("--output") { Description = "Write the predictions to this JSON-lines file, one object per image, as they are scored (with --model)" };
        var skipUnreadable = new Option<bool>("--skip-unreadable") { Description = "List images that cannot be read and go on (default: stop at the first)" };
        var scoring = new ScoringSettings();
        var command = new Command("predict", "Classify images with a trained model, or with pretrained weights") { model, weights, version, ema, labels, inputs, list, top, json, results, skipUnreadable };
        foreach (var option in scoring.Options)
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var k = parse.GetValue(top);
            if (k < 0) throw new CliInputException($"--top must be 0 (all classes) or more; got {k}.");
            var skipping = parse.GetValue(skipUnreadable);
            var paths = ImageList.Read(parse.GetValue(inputs) ?? Array.Empty<string>(), parse.GetValue(list), skipping);
            if (paths.Count == 0) throw new CliInputException("No image files were found in the given paths.");
            var format = new Format(classes => k == 0 ? classes : Math.Min(k, classes));
            switch (parse.GetValue(model), parse.GetValue(weights))
            {
                case ({ } zip, null):
                    if ((parse.GetValue(version) is not null ? "--version" : parse.GetValue(ema) ? "--ema" : parse.GetValue(labels) is not null ? "--labels" : null) is { } weightsOnly)
                        throw new CliInputException($"{weightsOnly} works with --weights (pretrained weights), not with --model: a model zip carries its own network and class names.");
                    return WithModel(parse, scoring, zip, paths, skipping, parse.GetValue(json), parse.GetValue(results), format, output);
                case (null, { } named):
                    if ((scoring.ModelOnlyOptionGiven(parse) ?? (parse.GetValue(results) is not null ? "--output" : null)) is { } option)
                        throw new CliInputException($"{option} works with --model (a zip written by train), not with --weights.");
                    return WithWeights(named, parse.GetValue(version), parse.GetValue(ema), parse.GetValue(labels), paths, skipping, scoring.Engine(parse), scoring.Device(parse),
                        parse.GetValue(json), format, output);
                default:
                    throw new CliInputException("Give either --model (a zip written by train) or --weights (pretrained weights), not both.");
            }
        });
        return command;
    }

    static readonly JsonSerializerOptions Indented = new(JsonLinesFile.Options) { WriteIndented = true };

    static int WithModel(ParseResult parse, ScoringSettings scoring, string zip, IReadOnlyList<string> paths, bool skipping, bool json, string? resultsPath, Format format, TextWriter output)
    {
        var ml = scoring.Context(parse);
        var loaded = scoring.Load(parse, ml, zip);
        using var results = resultsPath is null ? null : new JsonLinesFile(resultsPath);
        var collected = new List<object>();
        var (scored, skipped) = (0, 0);
        foreach (var file in ChunkedScoring.Score(ml, loaded, paths.Select(p => new LabeledImage(p, "")).ToList(), skipping))
        {
            object line = file.Scores is { } scores
                ? format.Prediction(file.Path, loaded.Classes, scores) with
                {
                    Labels = loaded.Classifier.Task == TaskKind.MultiLabel ? loaded.Classifier.PredictedLabels(scores) : null,
                }
                : new SkippedLine(file.Path, file.Problem!);
            if (file.Scores is null) skipped++; else scored++;
            if (results is not null)
            {
                results.Write(line);
                if ((scored + skipped) % loaded.Classifier.InferenceBatchSize == 0)
                    results.Flush();
            }
            else if (json)
                collected.Add(line);
            else
                output.WriteLine(line is Prediction p ? format.Line(p) : $"skipped: {file.Problem}");
        }
        if (results is not null)
            output.WriteLine($"Scored {scored} images{(skipped > 0 ? $", skipped {skipped} unreadable ones" : "")}: {results.Path}");
        else if (json)
            output.WriteLine(JsonSerializer.Serialize(collected, Indented));
        return 0;
    }

    // Pretrained weights as they are, a batch of files at a time (never every image in memory at once): each file is
    // checked as --model's are (header, pixel budget, truncation) and a file that still fails to decode is named, or
    // skipped with --skip-unreadable; lines are printed as their batch is scored.
    static int WithWeights(string weights, string? version, bool ema, string? labelsFile, IReadOnlyList<string> paths, bool skipping,
        ScoringEngine engine, string device, bool json, Format format, TextWriter output)
    {
        if (labelsFile is not null && !File.Exists(labelsFile))
            throw new CliInputException($"The labels file '{labelsFile}' does not exist.");
        var names = labelsFile is null ? null : File.ReadAllLines(labelsFile).Where(line => line.Length > 0).ToList();
        using var classifier = PretrainedClassifier.Load(weights, version, names, device, WeightsDownloadDisplay.Lines(json ? TextWriter.Null : output), useEmaWeights: ema);
        classifier.ScoringEngine = engine;
        var collected = new List<object>();
        void Emit(string path, Prediction? prediction, string? problem)
        {
            if (json)
                collected.Add(prediction is not null ? prediction : new SkippedLine(path, problem!));
            else
                output.WriteLine(prediction is not null ? format.Line(prediction) : $"skipped: {problem}");
        }
        foreach (var batch in paths.Chunk(BatchFiles))
        {
            var readable = new List<(string Path, byte[] Bytes)>();
            foreach (var path in batch)
            {
                var (bytes, problem) = ImageCheck.Read(path); // read once: checked, then scored
                if (bytes is not null)
                    readable.Add((path, bytes));
                else if (skipping)
                    Emit(path, null, problem);
                else
                    throw new CliInputException($"{problem} Replace or remove it, or pass --skip-unreadable.");
            }
            float[][] scores;
            try
            {
                scores = classifier.Classify(readable.Select(r => r.Bytes).ToList());
            }
            catch (InvalidDataException)
            {
                // Damage inside a complete file (a corrupt compressed stream) shows only when decoded: one image at a
                // time then, to name it (or skip it) and score the others.
                scores = new float[readable.Count][];
                for (var i = 0; i < readable.Count; i++)
                {
                    try
                    {
                        scores[i] = classifier.Classify([readable[i].Bytes])[0];
                    }
                    catch (InvalidDataException e) when (skipping)
                    {
                        Emit(readable[i].Path, null, $"The file '{readable[i].Path}': {Unindexed(e)}.");
                    }
                    catch (InvalidDataException e)
                    {
                        throw new CliInputException($"The file '{readable[i].Path}': {Unindexed(e)}. Replace or remove it, or pass --skip-unreadable.");
                    }
                }
            }
            for (var i = 0; i < readable.Count; i++)
                if (scores[i] is { } probabilities)
                    Emit(readable[i].Path, format.Prediction(readable[i].Path, classifier.Labels, probabilities), null);
        }
        if (json)
            output.WriteLine(JsonSerializer.Serialize(collected, Indented));
        return 0;
    }

    /// <summary>Files read and scored at a time with --weights.</summary>
    const int BatchFiles = 64;

    // Classify's message without its "Image 0: " (the file's name replaces the index).
    static string Unindexed(InvalidDataException e) => e.InnerException?.Message ?? e.Message;

    /// <summary>One image's line of output: its top classes, most probable first; a multi-label model's labels over their thresholds.</summary>
    internal sealed record Prediction(string Image, IReadOnlyList<TopClass> Top)
    {
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<string>? Labels { get; init; }
    }

    internal sealed record TopClass(string Label, int Index, float Probability);

    /// <summary>A line for an image left out by --skip-unreadable.</summary>
    internal sealed record SkippedLine(string Image, string Error);

    sealed record Format(Func<int, int> Count)
    {
        public Prediction Prediction(string path, IReadOnlyList<string> classes, float[] scores) => new(path,
            scores.Select((p, c) => new TopClass(classes[c], c, p)).OrderByDescending(x => x.Probability).Take(Count(classes.Count)).ToList());

        public string Line(Prediction p) => p.Labels is { } labels
            ? $"{p.Image}: {(labels.Count == 0 ? "no label" : string.Join(", ", labels))} ({string.Join(", ", p.Top.Select(t => $"{t.Label} {t.Probability:P1}"))})"
            : $"{p.Image}: {string.Join(", ", p.Top.Select(t => $"{t.Label} {t.Probability:P1}"))}";
    }
}

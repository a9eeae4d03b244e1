using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet evaluate --model model.zip --data folder | --list labelled.txt [--json] [--output results.jsonl]</c>:
/// metrics on labelled images, scored a batch at a time. A multi-label model is evaluated on <c>--labels-csv data.csv</c>:
/// mean average precision, F1, Hamming loss, subset accuracy and a table per label (<c>--chart per-label.png</c> draws it).
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string>("--model") { Description = "A model zip written by train", Required = true };
        var data = new Option<string?>("--data") { Description = "A folder with one subfolder of images per class" };
        var list = new Option<string?>("--list") { Description = "Or: a text file of labelled images, one a line: 'path' (the class is its folder's name) or 'path<TAB>class'" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON" };
        var results = new Option<string?>("--output") { Description = "Write each image's label and prediction to this JSON-lines file as they are scored" };
        var skipUnreadable = new Option<bool>("--skip-unreadable") { Description = "List images that cannot be read and evaluate the rest (default: stop at the first)" };
        var multiLabel = new MultiLabelCsvOptions();
        var chart = new Option<string?>("--chart") { Description = "Multi-label: also draw each label's average precision and F1 into this PNG" };
        var scoring = new ScoringSettings();
        var command = new Command("evaluate", "Measure a model on labelled images") { model, data, list, json, results, skipUnreadable, chart };
        foreach (var option in scoring.Options.Concat(multiLabel.Options))
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var skipping = parse.GetValue(skipUnreadable);
            if (parse.GetValue(multiLabel.Csv) is not null)
            {
                if (parse.GetValue(data) is not null || parse.GetValue(list) is not null)
                    throw new CliInputException("Give either --labels-csv (a multi-label model's data) or --data / --list, not both.");
                var context = scoring.Context(parse);
                var multiLabelModel = scoring.Load(parse, context, parse.GetValue(model)!);
                if (multiLabelModel.Classifier.Task != TaskKind.MultiLabel)
                    throw new CliInputException("--labels-csv evaluates a multi-label model; this model is multiclass (one class per image): give --data or --list.");
                var csv = multiLabel.Read(parse, forTraining: false, multiLabelModel.Classifier.LabelSeparator, skipping)!;
                return EvaluateMultiLabel(context, multiLabelModel, csv, multiLabel.Separator(parse, multiLabelModel.Classifier.LabelSeparator), skipping,
                    parse.GetValue(json), parse.GetValue(results), parse.GetValue(chart), output);
            }
            if (parse.GetValue(chart) is not null)
                throw new CliInputException("--chart draws a multi-label model's per-label figures (with --labels-csv); a multiclass model's confusion matrix is printed.");
            var (source, images) = (parse.GetValue(data), parse.GetValue(list)) switch
            {
                ({ } folder, null) => (folder, ImageFolder.Read(folder, forTraining: false).Images),
                (null, { } file) => (file, ReadList(file, skipping)),
                _ => throw new CliInputException("Give either --data (a folder of class subfolders) or --list (a file of labelled image paths)."),
            };
            var ml = scoring.Context(parse);
            var loaded = scoring.Load(parse, ml, parse.GetValue(model)!);
            if (loaded.Classifier.Task == TaskKind.MultiLabel)
                throw new CliInputException("This is a multi-label model: evaluate it on a CSV of images and their labels with --labels-csv (and --image-column, --labels-column, --separator).");
            var unknown = images.Select(i => i.Label).Distinct().Except(loaded.Classes).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
                throw new CliInputException($"The data has classes the model was not trained on: {string.Join(", ", unknown)} (the model knows {string.Join(", ", loaded.Classes)}).");
            if (images.Count == 0)
                throw new CliInputException($"'{source}' has no images.");

            using var resultsFile = parse.GetValue(results) is { } path ? new JsonLinesFile(path) : null;
            var classIndex = loaded.Classes.Select((name, index) => (name, index)).ToDictionary(p => p.name, p => (float)p.index, StringComparer.Ordinal);
            var rows = new List<EvaluatedRow>();
            var skipped = new List<string>();
            foreach (var file in ChunkedScoring.Score(ml, loaded, images, skipping))
            {
                if (file.Scores is not { } scores)
                {
                    skipped.Add(file.Problem!);
                    resultsFile?.Write(new { image = file.Path, label = file.Label, error = file.Problem });
                    continue;
                }
                var predicted = Pipeline.Scoring.MostProbable(scores);
                rows.Add(new EvaluatedRow { Label = classIndex[file.Label], Score = scores, PredictedLabel = (uint)predicted + 1 });
                resultsFile?.Write(new { image = file.Path, label = file.Label, predicted = loaded.Classes[predicted], probability = scores[predicted], correct = loaded.Classes[predicted] == file.Label });
                if (rows.Count % loaded.Classifier.InferenceBatchSize == 0)
                    resultsFile?.Flush();
            }
            if (rows.Count == 0)
                throw new CliInputException($"None of the {images.Count} images of '{source}' could be read.");
            var k = Math.Min(5, loaded.Classes.Count);
            var metrics = ml.MulticlassClassification.Evaluate(EvaluatedRow.View(ml, rows, loaded.Classes), topKPredictionCount: k);
            var report = EvaluationReport.From(metrics, loaded.Classes);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var problem in skipped)
                output.WriteLine($"skipped: {problem}");
            output.WriteLine($"{rows.Count} images{(skipped.Count > 0 ? $" ({skipped.Count} unreadable skipped)" : "")}: micro accuracy {report.MicroAccuracy:P1}, macro accuracy {report.MacroAccuracy:P1}, log loss {report.LogLoss:0.000}, top-{k} accuracy {report.TopKAccuracy:P1}");
            foreach (var c in report.PerClass)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c.Class,-20} precision {c.Precision,6:P1}  recall {c.Recall,6:P1}"));
            output.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
            if (resultsFile is not null)
                output.WriteLine($"Wrote each image's result to {resultsFile.Path}");
            return 0;
        });
        return command;
    }

    static int EvaluateMultiLabel(MLContext ml, ModelFile loaded, LabelsCsv csv, char separator, bool skipping, bool json, string? resultsPath, string? chartPath, TextWriter output)
    {
        var classifier = loaded.Classifier;
        var index = loaded.Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var unknown = csv.Labels.Except(loaded.Classes).ToList();
        if (unknown.Count > 0)
            throw new CliInputException($"The data has labels the model was not trained on: {string.Join(", ", unknown)} (the model knows {string.Join(", ", loaded.Classes)}).");
        using var resultsFile = resultsPath is null ? null : new JsonLinesFile(resultsPath);
        var thresholds = classifier.Thresholds!.ToArray();
        var (scores, truth, skipped) = (new List<float[]>(), new List<bool[]>(), new List<string>());
        foreach (var file in ChunkedScoring.Score(ml, loaded, csv.Images, skipping))
        {
            if (file.Scores is not { } probabilities)
            {
                skipped.Add(file.Problem!);
                resultsFile?.Write(new { image = file.Path, labels = file.Label, error = file.Problem });
                continue;
            }
            var has = new bool[loaded.Classes.Count];
            foreach (var label in file.Label.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                has[index[label]] = true;
            scores.Add(probabilities);
            truth.Add(has);
            var predicted = classifier.PredictedLabels(probabilities);
            resultsFile?.Write(new { image = file.Path, labels = file.Label.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), predicted, correct = predicted.Order(StringComparer.Ordinal).SequenceEqual(loaded.Classes.Where((_, i) => has[i]).Order(StringComparer.Ordinal)) });
            if (scores.Count % classifier.InferenceBatchSize == 0)
                resultsFile?.Flush();
        }
        if (scores.Count == 0)
            throw new CliInputException($"None of the {csv.Images.Count} images of '{csv.Path}' could be read.");
        var metrics = MultiLabel.MultiLabelClassificationMetrics.Compute(scores, truth, loaded.Classes, thresholds);
        if (chartPath is not null)
            Reporting.PerLabelChart.Save(metrics, Path.GetFullPath(chartPath), $"Per label ({Path.GetFileName(csv.Path)})");
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(MultiLabelReport.From(metrics), new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
            return 0;
        }
        foreach (var problem in skipped)
            output.WriteLine($"skipped: {problem}");
        output.WriteLine($"{scores.Count} images{(skipped.Count > 0 ? $" ({skipped.Count} unreadable skipped)" : "")}: {MultiLabelReport.Summary(metrics)}");
        foreach (var line in MultiLabelReport.Table(metrics))
            output.WriteLine(line);
        if (chartPath is not null)
            output.WriteLine($"Wrote the per-label chart to {Path.GetFullPath(chartPath)}");
        if (resultsFile is not null)
            output.WriteLine($"Wrote each image's result to {resultsFile.Path}");
        return 0;
    }

    // A labelled list: 'path' (the class is the name of the file's folder) or 'path<TAB>class', one a line.
    static List<LabeledImage> ReadList(string file, bool skipMissing) =>
        ImageList.Entries(file, "one image path a line ('path' or 'path<TAB>class')").Select(entry =>
        {
            var parts = entry.Text.Split('\t');
            var path = ImageList.ListedPath(parts[0].Trim(), entry.Line, file, skipMissing);
            var label = parts.Length > 1 ? parts[1].Trim() : Path.GetFileName(Path.GetDirectoryName(path)) ?? "";
            return label.Length > 0 ? new LabeledImage(path, label)
                : throw new CliInputException($"Line {entry.Line} of {file} has no class: write 'path<TAB>class', or keep each image in a folder named after its class.");
        }).ToList();

    /// <summary>One scored image as ML.NET's evaluator reads it: the class index (a float label), the probabilities, the predicted key.</summary>
    sealed class EvaluatedRow
    {
        public float Label { get; set; }
        public float[] Score { get; set; } = Array.Empty<float>();
        public uint PredictedLabel { get; set; }

        public static IDataView View(MLContext ml, IEnumerable<EvaluatedRow> rows, IReadOnlyList<string> classes)
        {
            var definition = SchemaDefinition.Create(typeof(EvaluatedRow));
            definition[nameof(PredictedLabel)].ColumnType = new KeyDataViewType(typeof(uint), classes.Count);
            definition[nameof(Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes.Count);
            // The class names, for the confusion table.
            definition[nameof(Score)].AddAnnotation("SlotNames", new VBuffer<ReadOnlyMemory<char>>(classes.Count, classes.Select(c => c.AsMemory()).ToArray()),
                new VectorDataViewType(TextDataViewType.Instance, classes.Count));
            return ml.Data.LoadFromEnumerable(rows, definition);
        }
    }
}

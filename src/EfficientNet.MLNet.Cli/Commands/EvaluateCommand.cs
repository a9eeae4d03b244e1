using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary><c>efficientnet evaluate --model model.zip --data folder [--json]</c>: metrics on a labelled folder.</summary>
internal static class EvaluateCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string>("--model") { Description = "A model zip written by train", Required = true };
        var data = new Option<string>("--data") { Description = "A folder with one subfolder of images per class", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON" };
        var engine = EngineOption.Create();
        var tta = TestTimeAugmentationOption.Create();
        var command = new Command("evaluate", "Measure a model on a folder of labelled images") { model, data, json, engine, tta };
        command.SetAction(parse =>
        {
            var ml = new MLContext();
            var loaded = ModelFile.Load(ml, parse.GetValue(model)!, EngineOption.Parse(parse.GetValue(engine)), TestTimeAugmentationOption.Parse(parse.GetValue(tta)));
            var folder = ImageFolder.Read(parse.GetValue(data)!, forTraining: false);
            var unknown = folder.Classes.Except(loaded.Classes).ToList();
            if (unknown.Count > 0)
                throw new CliInputException($"The data has classes the model was not trained on: {string.Join(", ", unknown)} (the model knows {string.Join(", ", loaded.Classes)}).");
            if (folder.Images.Count == 0)
                throw new CliInputException($"The data folder '{folder.Path}' has no images.");
            ImageCheck.RequireReadable(folder.Images.Select(i => i.ImagePath));
            var scored = loaded.Model.Transform(ml.Data.LoadFromEnumerable(folder.Images));
            // The saved pipeline maps PredictedLabel back to text; Evaluate wants the keys, which the label mapping still has.
            var keyed = ml.Transforms.Conversion.MapValueToKey("PredictedLabelKey", "PredictedLabel", keyData: ml.Data.LoadFromEnumerable(loaded.Classes.Select(c => new KeyRow { PredictedLabel = c }))).Fit(scored).Transform(scored);
            var k = Math.Min(5, loaded.Classes.Count);
            var metrics = ml.MulticlassClassification.Evaluate(keyed, predictedLabelColumnName: "PredictedLabelKey", topKPredictionCount: k);
            var report = EvaluationReport.From(metrics, loaded.Classes);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            output.WriteLine($"{folder.Images.Count} images: micro accuracy {report.MicroAccuracy:P1}, macro accuracy {report.MacroAccuracy:P1}, log loss {report.LogLoss:0.000}, top-{k} accuracy {report.TopKAccuracy:P1}");
            foreach (var c in report.PerClass)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c.Class,-20} precision {c.Precision,6:P1}  recall {c.Recall,6:P1}"));
            output.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
            return 0;
        });
        return command;
    }

    sealed class KeyRow
    {
        public string PredictedLabel { get; set; } = "";
    }
}

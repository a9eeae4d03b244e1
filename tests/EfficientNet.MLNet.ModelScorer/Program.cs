// Usage: EfficientNet.MLNet.ModelScorer <model.zip> <rows.json> <output.json>
// rows.json: [{"ImagePath": "...", "Label": "..."}, ...]
// output.json: {"Scores": [[p, ...], ...], "PredictedLabels": ["...", ...]}, one entry per row.
// Nothing here registers anything with ML.NET: Model.Load must find the EfficientNet loader by itself.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

var mlContext = new MLContext();
var model = mlContext.Model.Load(args[0], out _);
var rows = JsonSerializer.Deserialize<List<Row>>(File.ReadAllText(args[1]))!;
var scored = model.Transform(mlContext.Data.LoadFromEnumerable(rows));
var output = new
{
    Scores = scored.GetColumn<float[]>("Score").ToList(),
    PredictedLabels = scored.GetColumn<string>("PredictedLabel").ToList(),
};
File.WriteAllText(args[2], JsonSerializer.Serialize(output));

sealed class Row
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

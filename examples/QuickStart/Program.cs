// EfficientNet.MLNet in five steps: data, train, evaluate, save and reload, predict.
//
//   dotnet run --project examples/QuickStart                 # on the embedded default: generated shape images
//   dotnet run --project examples/QuickStart -- <folder>     # on your images: one subfolder per class
using System.Diagnostics;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

var clock = Stopwatch.StartNew();
var folder = args.Length > 0 ? Path.GetFullPath(args[0]) : Path.Combine(Path.GetTempPath(), "efficientnet-quickstart-shapes");

// 1. Data: a folder with one subfolder per class.
IReadOnlyList<LabeledImage> images;
if (args.Length > 0)
{
    images = ImageFolderDataset.Read(folder).Images;
    Console.WriteLine($"1. Data: {images.Count} images in {images.Select(i => i.Label).Distinct().Count()} classes from {folder}");
}
else
{
    images = SyntheticShapes.Write(folder, imagesPerClass: 150, size: 48, seed: 1);
    Console.WriteLine($"1. Data: drew {images.Count} images of {string.Join(", ", SyntheticShapes.Classes)} into {folder}");
}

var mlContext = new MLContext(seed: 1);
// Fit's log says which float32 kernels libtorch uses on this CPU and that they were checked against float64.
mlContext.Log += (_, e) =>
{
    if (e.RawMessage.StartsWith("CPU kernels on", StringComparison.Ordinal))
        Console.WriteLine($"   {e.RawMessage}");
};
var data = mlContext.Data.LoadFromEnumerable(images);
var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 1);

// 2. Train: map labels to keys, load images, fit EfficientNet-B0 from scratch at 48x48 (small, so a CPU is enough).
var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    .Append(mlContext.Transforms.LoadImages("Image", imageFolder: "", inputColumnName: nameof(LabeledImage.ImagePath)))
    .Append(mlContext.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
    {
        Version = "b0",
        ImageSize = 48,
        Epochs = 15,
        BatchSize = 16,
        LearningRate = 1e-3,
        Augment = false, // the generated shapes already vary in size, position and colour
        ValidationFraction = 0.1,
        EpochCompleted = epoch => Console.WriteLine($"   {epoch}"),
    }))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
Console.WriteLine("2. Train: EfficientNet-B0 at 48x48");
var model = pipeline.Fit(split.TrainSet);

// 3. Evaluate on images the model has not seen.
var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
Console.WriteLine($"3. Evaluate: micro accuracy {metrics.MicroAccuracy:P1}, macro accuracy {metrics.MacroAccuracy:P1}, log loss {metrics.LogLoss:0.000}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

// 4. Save everything in one zip, and load it back as a fresh process would.
var zip = Path.Combine(Path.GetTempPath(), "efficientnet-quickstart-model.zip");
mlContext.Model.Save(model, split.TrainSet.Schema, zip);
var reloaded = new MLContext().Model.Load(zip, out _);
Console.WriteLine($"4. Saved {new FileInfo(zip).Length / 1024.0 / 1024.0:0.0} MB to {zip} and loaded it back");

// 5. Predict single images with the reloaded model.
var engine = new MLContext().Model.CreatePredictionEngine<LabeledImage, Prediction>(reloaded);
Console.WriteLine("5. Predict:");
foreach (var image in mlContext.Data.CreateEnumerable<LabeledImage>(split.TestSet, reuseRowObject: false).Take(5))
{
    var prediction = engine.Predict(image);
    Console.WriteLine($"   {Path.GetFileName(image.ImagePath),-22} is {image.Label,-9} predicted {prediction.PredictedLabel,-9} ({prediction.Score.Max():P1})");
}
Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:0} s.");

/// <summary>What the pipeline adds to each image.</summary>
sealed class Prediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = Array.Empty<float>();
}

// The application of .ci/version-compatibility-test, built once against each of two packed versions of
// EfficientNet.MLNet. Modes:
//   save ZIP IMAGES   draws the shapes into IMAGES, trains a tiny model, saves ZIP, prints the scores of 8 images
//   load ZIP IMAGES   loads ZIP in this (fresh) process, prints the scores of the same 8 images
//   newer ZIP OUT     writes OUT: ZIP with its EfficientNet model format number set one above the newest this package reads
//                     (a real format change)
//   network ZIP IMAGES  loads ZIP and asks for its TorchSharp network (in an app without libtorch: prints the error, exit 4)
//   engines ZIP IMAGES  loads ZIP, prints the engine Auto scores with and its scores, then asks for ONNX Runtime
//                       (in an app without ONNX Runtime's native package: prints the error, exit 5)
//   both ZIP IMAGES   loads ZIP, prints "onnxruntime" and ONNX Runtime's scores, then "torchsharp" and TorchSharp's
//                     (.ci/mlnet-compatibility-test; save also evaluates there, on the training images)
// Scores are printed one image per line with round-trip precision, so two processes can be compared exactly.
using System.IO.Compression;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

var (mode, zip, folder) = (args[0], args[1], args[2]);
var ml = new MLContext(seed: 1);
switch (mode)
{
    case "save":
    {
        // Enough training that scores differ from image to image (a comparison of equal rows would prove little).
        var rows = SyntheticShapes.Write(folder, imagesPerClass: 30, size: 48, seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Append(ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options { ImageSize = 48, Epochs = 8, Seed = 1, Augment = false, ValidationFraction = 0 }))
            .Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Console.Error.WriteLine($"evaluated: micro accuracy {metrics.MicroAccuracy:0.000}, log loss {metrics.LogLoss:0.000}");
        ml.Model.Save(model, data.Schema, zip);
        PrintScores(model);
        break;
    }
    case "both":
    {
        var loaded = ml.Model.LoadEfficientNetModel(zip, out _);
        var classifier = ((IEnumerable<ITransformer>)loaded).OfType<EfficientNetTransformer>().Single();
        foreach (var engine in new[] { ScoringEngine.OnnxRuntime, ScoringEngine.TorchSharp })
        {
            classifier.ScoringEngine = engine;
            Console.WriteLine(engine.ToString().ToLowerInvariant());
            PrintScores(loaded);
        }
        break;
    }
    case "load":
        try
        {
            PrintScores(ml.Model.LoadEfficientNetModel(zip, out _));
        }
        catch (ModelFileException e)
        {
            Console.WriteLine($"error: {e.Message}");
            return 3;
        }
        break;
    case "newer":
        RaiseFormat(zip, folder);
        break;
    case "engines":
    {
        var loaded = ml.Model.LoadEfficientNetModel(zip, out _);
        var classifier = ((IEnumerable<ITransformer>)loaded).OfType<EfficientNetTransformer>().Single();
        PrintScores(loaded);
        Console.WriteLine($"auto: {classifier.ScoringEngineInUse}");
        try
        {
            classifier.ScoringEngine = ScoringEngine.OnnxRuntime;
            PrintScores(loaded);
        }
        catch (EfficientNetException e)
        {
            Console.WriteLine($"error: {e.Message}");
            return 5;
        }
        break;
    }
    case "network":
        try
        {
            var loaded = (IEnumerable<ITransformer>)ml.Model.LoadEfficientNetModel(zip, out _);
            var network = loaded.OfType<EfficientNetTransformer>().Single().Model;
            Console.WriteLine($"network: {network.GetType().Name}");
        }
        catch (EfficientNetException e)
        {
            Console.WriteLine($"error: {e.Message}");
            return 4;
        }
        break;
}
return 0;

void PrintScores(ITransformer model)
{
    // Two images of each class, the same ones in every process.
    var rows = ImageFolderDataset.Read(folder).Images.OrderBy(r => r.ImagePath, StringComparer.Ordinal).GroupBy(r => r.Label).SelectMany(g => g.Take(2)).ToList();
    foreach (var score in model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score"))
        Console.WriteLine(string.Join(" ", score.Select(p => p.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
}

// The description starts with the format number (int32), then the framed length (int32), then the variant's name
// as a length-prefixed string ("\x02b0").
static void RaiseFormat(string zip, string output)
{
    File.Copy(zip, output, overwrite: true);
    using var archive = ZipFile.Open(output, ZipArchiveMode.Update);
    var entry = archive.Entries.Single(e => e.FullName.EndsWith("Model.key", StringComparison.Ordinal) && e.FullName.Contains("Transform_002"));
    byte[] content;
    using (var read = entry.Open())
    using (var buffer = new MemoryStream())
    {
        read.CopyTo(buffer);
        content = buffer.ToArray();
    }
    var start = content.AsSpan().IndexOf("\u0002b0"u8) - 8;
    BitConverter.GetBytes(EfficientNetTransformer.FormatVersion + 1).CopyTo(content, start);
    var name = entry.FullName;
    entry.Delete();
    using var write = archive.CreateEntry(name).Open();
    write.Write(content);
}

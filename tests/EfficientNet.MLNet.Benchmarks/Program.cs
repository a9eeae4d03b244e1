// Eight modes:
//
// 1. Against PyTorch (run-vs-pytorch.sh installs Debian's python3-torch and runs this): EfficientNet-B0 at 224,
//    ours against torchvision eager, each measurement in its own process, sides alternating, medians.
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --compare-pytorch [--runs 3] [--threads 2] [--json out.json]
//      [--only "fit from files"] (only the measurements whose name contains the text)
//
// 2. The ML.NET trainer and transformer against our own bare TorchSharp loop on tensors in memory, same model,
//    image size, batch and threads, alternating run by run; medians reported.
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- [--runs 5] [--size 96] [--images 320] [--json results.json]
//
// 3. One measurement, printed as JSON (what mode 1 launches): --task infer-bare|infer-transform|train-bare
//      [--batch 16] [--size 224] [--threads 2] [--steps 6] [--epochs 5] [--channels-last] [--fold]
//      (also infer-onnx-bare: ONNX Runtime alone on the export; decode: decoding and resizing alone, one thread;
//      latency: one image at a time through a PredictionEngine on a loaded zip [--engine auto|onnx|torchsharp] [--warm-up];
//      scoring-memory: --steps images scored (batch 1: a PredictionEngine), resident memory after each tenth;
//      transform-stages: where Transform's time goes, per image, in one process (decode, LoadImages, the engine, ONNX
//      Runtime alone, Transform from bytes and from files, a PredictionEngine against ONNX Runtime at batch 1 plus the
//      decode), --epochs alternating rounds, medians, and the issue's ratios;
//      fit-files --data FOLDER [--return-memory] [--worker-thread] [--sample-heap] [--mmap-threshold MB]: Fit from a folder
//      of image files, as the CLI's train; --return-memory turns ReuseNativeMemory off, --worker-thread runs Fit on a thread
//      of its own instead of the main one, --sample-heap adds glibc's peak of native memory in use and its heaps' size after
//      each epoch, --mmap-threshold turns ReuseNativeMemory off and maps blocks of MB MiB or more on their own instead)
//
// 4. Progressive learning (EfficientNetV2) against a fixed image size: test accuracy and Fit time over seeds.
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --progressive [--version b0] [--seeds 3]
//      [--epochs 16] [--size 64] [--start 32] [--train-per-class 20] [--test-per-class 100] [--json out.json]
//
// 6. The training recipe, technique by technique (RecipeComparison.cs; docs/TRAINING.md): test accuracy and Fit time
//    over seeds on scikit-learn's handwritten digits (real, from Debian's python3-sklearn) or generated cluttered shapes,
//    beside an SVC on the same raw pixels.
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --recipe [--dataset digits|cluttered]
//      [--configs defaults,...] [--version b0] [--seeds 3] [--epochs 30] [--size 64] [--train-per-class 20]
//      [--test-per-class 100] [--threads N] [--tta flip|crops|fivecrops: also the test accuracy with test-time augmentation] [--json out.json]
//
// 7. Which layer's Grad-CAM points at the evidence (GradCamLayerComparison.cs; the README's "Explaining predictions").
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --gradcam-layers [--size 128]
//      [--train-per-class 60] [--test-per-class 20] [--epochs 30] [--seeds 1,2] [--no-augment]
//
// 8. What the CPU kernel check's fallbacks cost (KernelConfigurationCost.cs; docs/PERFORMANCE.md): training and TorchSharp
//    scoring under EFFICIENTNET_CPU_KERNELS=libtorch, avx2 and avx2-everywhere, each in its own process, alternating, medians.
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --kernel-cost [--runs 3] [--threads 2] [--json out.json]
//
// 9. Multi-label training against one binary model per label and a multiclass model over label combinations, at equal
//    image-steps, on canvases of handwritten digits (MultiLabelComparison.cs; docs/TRAINING.md "Multi-label").
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --multilabel [--seeds 3] [--epochs 20]
//      [--size 64] [--train 800] [--test 400] [--configs defaults,one-vs-rest,powerset,no-augment,...] [--json out.json]
//
// 5. Fit under allocation pressure from another thread, to find TorchSharp's temporary-Scalar crash (ScalarStress.cs).
//      dotnet run -c Release --project tests/EfficientNet.MLNet.Benchmarks -- --scalar-stress [--seconds 120]
using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

if (args.Contains("--task"))
{
    SingleMeasurement.Run(Text("--task", ""), Argument("--batch", 16), Argument("--size", 224), Argument("--threads", 2),
        Argument("--steps", 6), Argument("--epochs", 5), args.Contains("--channels-last"), args.Contains("--fold"), Text("--engine", "auto"), args.Contains("--warm-up"), args.Contains("--data") ? Text("--data", "") : null, args.Contains("--return-memory"), args.Contains("--worker-thread"), args.Contains("--sample-heap"),
        args.Contains("--mmap-threshold") ? Argument("--mmap-threshold", 0) : null);
    return;
}
if (args.Contains("--kernel-cost"))
{
    KernelConfigurationCost.Run(Argument("--runs", 3), Argument("--threads", 2), args.Contains("--json") ? Text("--json", "") : null);
    return;
}
if (args.Contains("--scalar-stress"))
{
    ScalarStress.Run(Argument("--seconds", 120));
    return;
}
if (args.Contains("--progressive"))
{
    ProgressiveLearningComparison.Run(Text("--version", "b0"), Argument("--seeds", 3), Argument("--epochs", 16), Argument("--size", 64), Argument("--start", 32),
        Argument("--train-per-class", 20), Argument("--test-per-class", 100), args.Contains("--json") ? Text("--json", "") : null);
    return;
}
if (args.Contains("--recipe"))
{
    RecipeComparison.Run(Text("--dataset", "digits"), Text("--version", "b0"), Argument("--seeds", 3), Argument("--epochs", 30), Argument("--size", 64),
        Argument("--train-per-class", 20), Argument("--test-per-class", 100), Text("--configs", "defaults").Split(','), Text("--python", "/usr/bin/python3"), args.Contains("--threads") ? Argument("--threads", 2) : null,
        Text("--tta", "none") switch { "flip" => TestTimeAugmentation.HorizontalFlip, "crops" => TestTimeAugmentation.FlipAndFiveCrops, "fivecrops" => TestTimeAugmentation.FiveCrops, _ => TestTimeAugmentation.None },
        args.Contains("--json") ? Text("--json", "") : null);
    return;
}
if (args.Contains("--multilabel"))
{
    MultiLabelComparison.Run(Argument("--seeds", 3), Argument("--epochs", 20), Argument("--size", 64), Argument("--train", 800), Argument("--test", 400),
        Text("--configs", "defaults,one-vs-rest,powerset").Split(','), args.Contains("--json") ? Text("--json", "") : null);
    return;
}
if (args.Contains("--gradcam-layers"))
{
    GradCamLayerComparison.Run(Argument("--size", 128), Argument("--train-per-class", 60), Argument("--test-per-class", 20), Argument("--epochs", 30),
        Text("--seeds", "1").Split(',').Select(int.Parse).ToArray(), !args.Contains("--no-augment"));
    return;
}
if (args.Contains("--compare-pytorch"))
{
    PyTorchComparison.Run(Argument("--runs", 3), Argument("--threads", 2), Text("--python", "/usr/bin/python3"),
        Path.Combine(AppContext.BaseDirectory, "pytorch_side.py"), args.Contains("--json") ? Text("--json", "") : null,
        args.Contains("--only") ? Text("--only", "") : null);
    return;
}

var runs = Argument("--runs", 5);
var size = Argument("--size", 96);
var imageCount = Argument("--images", 320);
const int batch = 16, inferenceBatch = 32, epochs = 2;
var threads = get_num_threads();
var folder = Path.Combine(Path.GetTempPath(), $"efficientnet-benchmark-{size}");
var images = SyntheticShapes.Write(folder, imagesPerClass: imageCount / 4, size: size, seed: 1);
Console.WriteLine($"EfficientNet-B0 at {size}x{size}, {images.Count} images, batch {batch} (inference {inferenceBatch}), {threads} threads, {runs} alternating runs");

var results = new Dictionary<string, List<double>>();
void Record(string name, double value) => (results.TryGetValue(name, out var list) ? list : results[name] = new List<double>()).Add(value);

for (var run = 1; run <= runs; run++)
{
    Record("train.bare", BareTraining());
    Record("train.fit_from_files", FitFromFiles(out var epochRate));
    Record("train.fit_epoch_rate", epochRate);
    Record("inference.bare", BareInference());
    Record("inference.transform_from_files", TransformFromFiles());
    Record("inference.loadimages_alone", LoadImagesAlone());
    Console.WriteLine($"run {run}: " + string.Join(", ", results.Select(r => $"{r.Key} {r.Value[^1]:0.0}")));
}

var medians = results.ToDictionary(r => r.Key, r => Statistics.Median(r.Value));
Console.WriteLine();
Console.WriteLine("images per second, median of runs:");
foreach (var (name, value) in medians) Console.WriteLine($"  {name,-32} {value,8:0.0}");
Console.WriteLine($"  Fit from files / bare training       {medians["train.fit_from_files"] / medians["train.bare"],8:0.00}  (target >= 0.85)");
Console.WriteLine($"  Fit epochs / bare training           {medians["train.fit_epoch_rate"] / medians["train.bare"],8:0.00}");
Console.WriteLine($"  Transform from files / bare inference{medians["inference.transform_from_files"] / medians["inference.bare"],8:0.00}  (target >= 0.9)");
if (Array.IndexOf(args, "--json") is var j and >= 0 && j + 1 < args.Length)
    File.WriteAllText(args[j + 1], JsonSerializer.Serialize(new { date = DateTime.UtcNow, size, images = images.Count, batch, inferenceBatch, threads, runs, medians, results }, new JsonSerializerOptions { WriteIndented = true }));

// Training steps on random tensors already in memory: what the loop costs without any data handling.
double BareTraining()
{
    manual_seed(1);
    using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 4);
    using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
    using var pixels = rand(images.Count, 3, size, size) * 255;
    using var labels = randint(0, 4, images.Count);
    model.train();
    var clock = new Stopwatch();
    for (var epoch = 0; epoch < epochs; epoch++)
        for (var start = 0; start < images.Count; start += batch)
        {
            if (epoch == 0 && start == batch) clock.Start(); // skip the first step (allocations, oneDNN setup)
            using var scope = NewDisposeScope();
            var count = Math.Min(batch, images.Count - start);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(NetworkInput.From(pixels.narrow(0, start, count), PixelNormalization.ImageNet)), labels.narrow(0, start, count), label_smoothing: 0.1);
            loss.backward();
            optimizer.step();
        }
    return (epochs * images.Count - batch) / clock.Elapsed.TotalSeconds;
}

// ML.NET end to end: LoadImages from files, decode and resize, augment, train; the whole Fit is timed.
double FitFromFiles(out double epochRate)
{
    var ml = new MLContext(seed: 1);
    var data = ml.Data.LoadFromEnumerable(images);
    var prepared = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", "ImagePath")).Fit(data).Transform(data);
    var clock = Stopwatch.StartNew();
    using var model = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
    {
        ImageSize = size, Epochs = epochs, BatchSize = batch, Seed = 1, Augment = true, HorizontalFlip = true,
    }).Fit(prepared);
    epochRate = Statistics.Median(model.History.Select(h => h.ImagesPerSecond));
    return epochs * images.Count / clock.Elapsed.TotalSeconds;
}

double BareInference()
{
    using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 4);
    model.eval();
    using var pixels = rand(images.Count, 3, size, size) * 255;
    var clock = Stopwatch.StartNew();
    for (var start = 0; start < images.Count; start += inferenceBatch)
    {
        using var scope = NewDisposeScope();
        // As Transform runs it: eval, inference mode, batch norms folded.
        model.Infer(NetworkInput.From(pixels.narrow(0, start, Math.Min(inferenceBatch, images.Count - start)), PixelNormalization.ImageNet)).softmax(1).cpu();
    }
    return images.Count / clock.Elapsed.TotalSeconds;
}

// A transformer trained for one epoch scores the image files through LoadImages and Transform.
double TransformFromFiles()
{
    var ml = new MLContext(seed: 1);
    var data = ml.Data.LoadFromEnumerable(images);
    var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", "ImagePath")).Fit(data);
    using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
    {
        ImageSize = size, Epochs = 1, BatchSize = batch, Seed = 1, InferenceBatchSize = inferenceBatch, DecodedImageCacheBytes = 0,
    }).Fit(prepare.Transform(ml.Data.TakeRows(data, 32)));
    // The same engine as the bare loop, so the ratio is ML.NET's own overhead (the ONNX Runtime engine is compared
    // with ONNX Runtime alone in --compare-pytorch).
    classifier.ScoringEngine = ScoringEngine.TorchSharp;
    var clock = Stopwatch.StartNew();
    var scores = classifier.Transform(prepare.Transform(data)).GetColumn<float[]>("Score").Count();
    return scores / clock.Elapsed.TotalSeconds;
}

// LoadImages alone (reading and decoding the files on the cursor's thread), what Transform from files adds to scoring.
double LoadImagesAlone()
{
    var ml = new MLContext(seed: 1);
    var loaded = ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(ml.Data.LoadFromEnumerable(images)).Transform(ml.Data.LoadFromEnumerable(images));
    var clock = Stopwatch.StartNew();
    var count = 0;
    using (var cursor = loaded.GetRowCursor(new[] { loaded.Schema["Image"] }))
    {
        var getter = cursor.GetGetter<Microsoft.ML.Data.MLImage>(loaded.Schema["Image"]);
        Microsoft.ML.Data.MLImage image = null!;
        while (cursor.MoveNext())
        {
            getter(ref image);
            image.Dispose();
            count++;
        }
    }
    return count / clock.Elapsed.TotalSeconds;
}

int Argument(string name, int fallback) => int.Parse(Text(name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);

string Text(string name, string fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;

using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;
using static TorchSharp.torch;

/// <summary>
/// One measurement of the .NET side, in its own process (so its peak memory is its own), printed as one JSON line
/// with the same fields as pytorch_side.py: images_per_second, peak_rss_bytes, rss_after_epoch_bytes.
/// </summary>
internal static class SingleMeasurement
{
    public static void Run(string task, int batch, int size, int threads, int steps, int epochs, bool channelsLast, bool fold, string engine = "auto")
    {
        set_num_threads(threads);
        manual_seed(1);
        var result = new Dictionary<string, object> { ["torchsharp_threads"] = get_num_threads() };
        switch (task)
        {
            case "infer-bare":
                result["images_per_second"] = BareInference(batch, size, steps, channelsLast, fold);
                break;
            case "infer-transform":
                result["images_per_second"] = TransformInference(batch, size, steps, ParseEngine(engine));
                break;
            case "infer-onnx-bare":
                result["images_per_second"] = OnnxRuntimeInference(batch, size, steps, threads);
                break;
            case "latency":
                var (first, median) = Latency(size, steps, ParseEngine(engine));
                result["first_prediction_ms"] = first;
                result["median_prediction_ms"] = median;
                result["images_per_second"] = 1000 / median;
                break;
            case "train-bare":
                var (rate, rss) = BareTraining(batch, size, steps, epochs, channelsLast);
                result["images_per_second"] = rate;
                result["rss_after_epoch_bytes"] = rss;
                break;
            default:
                throw new ArgumentException($"Unknown task '{task}': infer-bare, infer-transform, infer-onnx-bare, latency or train-bare.");
        }
        using var process = Process.GetCurrentProcess();
        result["peak_rss_bytes"] = process.PeakWorkingSet64;
        Console.WriteLine(JsonSerializer.Serialize(result));
    }

    static Tensor Layout(Tensor pixels, bool channelsLast) =>
        channelsLast ? pixels.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : pixels;

    // The network alone on a random batch in memory: eval, inference mode, the same normalization Transform applies;
    // optionally in channels-last layout and with batch norms folded, as Transform runs it.
    static double BareInference(int batch, int size, int steps, bool channelsLast, bool fold)
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 1000);
        model.eval();
        using var pixels = Layout(rand(batch, 3, size, size) * 255, channelsLast);
        using var inference = inference_mode(true);
        double Pass()
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            // Infer is the library's scoring: folded batch norms; a plain eval forward is not.
            var input = NetworkInput.Normalize(pixels, PixelNormalization.ImageNet);
            (fold ? model.Infer(input) : model.call(input)).softmax(1).cpu();
            return clock.Elapsed.TotalSeconds;
        }
        Pass(); // warm-up
        return steps * batch / Enumerable.Range(0, steps).Sum(_ => Pass());
    }

    static ScoringEngine ParseEngine(string engine) => engine switch
    {
        "onnx" => ScoringEngine.OnnxRuntime,
        "torchsharp" => ScoringEngine.TorchSharp,
        _ => ScoringEngine.Auto,
    };

    static EfficientNetTransformer Classifier(int size, int batch, ScoringEngine engine)
    {
        var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 1000);
        return new EfficientNetTransformer(model, CPU, size, Enumerable.Range(0, 1000).Select(c => $"class {c}").ToList(),
            "Image", "Score", "PredictedLabel", batch, Array.Empty<EfficientNet.MLNet.EpochMetrics>()) { ScoringEngine = engine };
    }

    // ML.NET end to end from encoded images in memory (as Model Builder feeds bytes): decode, resize, batch, score.
    static double TransformInference(int batch, int size, int steps, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var images = Enumerable.Range(0, (steps + 1) * batch).Select(i => new EncodedRow { Image = Png(size, i) }).ToList();
        using var classifier = Classifier(size, batch, engine);
        classifier.Transform(ml.Data.LoadFromEnumerable(images.Take(batch))).GetColumn<float[]>("Score").Count(); // warm-up
        var data = ml.Data.LoadFromEnumerable(images.Skip(batch));
        var clock = Stopwatch.StartNew();
        var scored = classifier.Transform(data).GetColumn<float[]>("Score").Count();
        return scored / clock.Elapsed.TotalSeconds;
    }

    // ONNX Runtime alone on the library's own export of the same network, on a random batch in memory: the engine's
    // ceiling, against which Transform (decoding, resizing and ML.NET included) is measured.
    static double OnnxRuntimeInference(int batch, int size, int steps, int threads)
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 1000);
        using var stream = new MemoryStream();
        EfficientNet.MLNet.Onnx.OnnxExport.Write(model, size, stream);
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(stream.ToArray(), options);
        var random = new Random(1);
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(Enumerable.Range(0, batch * 3 * size * size).Select(_ => (float)random.Next(256)).ToArray(), new[] { batch, 3, size, size });
        double Pass()
        {
            var clock = Stopwatch.StartNew();
            using var results = session.Run(new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(EfficientNet.MLNet.Onnx.OnnxExport.InputName, input) });
            return clock.Elapsed.TotalSeconds;
        }
        Pass(); // warm-up
        return steps * batch / Enumerable.Range(0, steps).Sum(_ => Pass());
    }

    // A PredictionEngine scoring one image at a time, as a web service would: the first prediction (engine creation
    // and the engine's warm-up included) and the median of the next ones.
    static (double FirstMs, double MedianMs) Latency(int size, int predictions, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var images = Enumerable.Range(0, predictions + 1).Select(i => new EncodedRow { Image = Png(size, i) }).ToList();
        using var classifier = Classifier(size, 1, engine);
        var clock = Stopwatch.StartNew();
        using var predictor = ml.Model.CreatePredictionEngine<EncodedRow, ScoreRow>(classifier, new PredictionEngineOptions { OwnsTransformer = false });
        predictor.Predict(images[0]);
        var first = clock.Elapsed.TotalMilliseconds;
        var times = images.Skip(1).Select(image =>
        {
            clock.Restart();
            predictor.Predict(image);
            return clock.Elapsed.TotalMilliseconds;
        }).ToList();
        return (first, Statistics.Median(times));
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    static byte[] Png(int size, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(size, size);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
            canvas.DrawCircle(size / 2f, size / 2f, size / 3f, paint);
        }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    // AdamW steps on a random batch in memory, like pytorch_side.py's: 'epochs' groups of 'steps' steps, with the
    // resident memory after each group.
    static (double Rate, List<long> RssAfterEpoch) BareTraining(int batch, int size, int steps, int epochs, bool channelsLast)
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 4);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        using var pixels = Layout(rand(batch, 3, size, size), channelsLast);
        using var labels = randint(0, 4, batch);
        model.train();
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(pixels), labels, label_smoothing: 0.1);
            loss.backward();
            optimizer.step();
        }
        Step(); // warm-up
        var rss = new List<long>();
        var elapsed = 0.0;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < steps; i++) Step();
            elapsed += clock.Elapsed.TotalSeconds;
            using var process = Process.GetCurrentProcess();
            rss.Add(process.WorkingSet64);
        }
        return (epochs * steps * batch / elapsed, rss);
    }

    sealed class EncodedRow
    {
        public byte[] Image { get; set; } = Array.Empty<byte>();
    }
}

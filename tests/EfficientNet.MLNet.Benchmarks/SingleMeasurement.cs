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
    public static void Run(string task, int batch, int size, int threads, int steps, int epochs, bool channelsLast, bool fold, string engine = "auto", bool warmUpFirst = false,
        string? data = null, bool returnMemory = false, bool workerThread = false, bool sampleHeap = false, int? mmapThresholdMegabytes = null)
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
            case "fit-files":
                if (mmapThresholdMegabytes is { } megabytes)
                {
                    // The library leaves glibc alone with ReuseNativeMemory off; these settings then hold through Fit.
                    returnMemory = true;
                    GlibcMmapThreshold.Set(megabytes);
                }
                using (var sampler = sampleHeap ? new HeapSampler() : null)
                {
                    var heapAfterEpoch = new List<long>();
                    var (fitRate, fitRss, epochRates) = FitFromFiles(data ?? throw new ArgumentException("fit-files needs --data FOLDER"), batch, size, epochs, threads, returnMemory, workerThread,
                        sampler is null ? null : () => heapAfterEpoch.Add(EfficientNet.MLNet.Native.GlibcHeap.HeapBytes()));
                    result["images_per_second"] = fitRate;
                    result["epoch_images_per_second"] = epochRates;
                    result["rss_after_epoch_bytes"] = fitRss;
                    if (sampler is not null)
                    {
                        result["heap_in_use_peak_bytes"] = sampler.PeakInUseBytes;
                        result["heap_bytes_after_epoch"] = heapAfterEpoch;
                    }
                }
                break;
            case "scoring-memory":
                var (scoringRate, rssAfterTenth) = ScoringMemory(batch, size, steps, ParseEngine(engine));
                result["images_per_second"] = scoringRate;
                result["rss_after_each_tenth_bytes"] = rssAfterTenth;
                break;
            case "decode":
                result["images_per_second"] = Decoding(size, steps * batch);
                break;
            case "infer-onnx-bare":
                result["images_per_second"] = OnnxRuntimeInference(batch, size, steps, threads);
                break;
            case "latency":
                var (warmUp, first, second, median) = Latency(size, steps, ParseEngine(engine), warmUpFirst);
                result["warm_up_ms"] = warmUp;
                result["first_prediction_ms"] = first;
                result["second_prediction_ms"] = second;
                result["median_prediction_ms"] = median;
                result["images_per_second"] = 1000 / median;
                break;
            case "transform-stages":
                foreach (var (key, value) in TransformStages.Run(batch, size, steps, Math.Max(epochs, 3), threads))
                    result[key] = value;
                break;
            case "train-bare":
                var (rate, rss) = BareTraining(batch, size, steps, epochs, channelsLast);
                result["images_per_second"] = rate;
                result["rss_after_epoch_bytes"] = rss;
                break;
            default:
                throw new ArgumentException($"Unknown task '{task}': infer-bare, infer-transform, infer-onnx-bare, decode, latency, scoring-memory, transform-stages, fit-files or train-bare.");
        }
        using var process = Process.GetCurrentProcess();
        result["peak_rss_bytes"] = process.PeakWorkingSet64;
        // Which CPU and which float32 kernels this measurement ran with (the check ran when the first model was built).
        result["cpu"] = CpuDescription.Current.ToString();
        if (CpuKernels.Report is { } kernels)
            result["cpu_kernels"] = kernels.Summary;
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
        Pass(); Pass(); // warm-up: every inference measurement starts after two passes (an engine's second pass is often still slow)
        return steps * batch / Enumerable.Range(0, steps).Sum(_ => Pass());
    }

    static ScoringEngine ParseEngine(string engine) => engine switch
    {
        "onnx" => ScoringEngine.OnnxRuntime,
        "torchsharp" => ScoringEngine.TorchSharp,
        _ => ScoringEngine.Auto,
    };

    internal static EfficientNetTransformer Classifier(int size, int batch, ScoringEngine engine)
    {
        var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 1000);
        return new EfficientNetTransformer(model, CPU, size, Enumerable.Range(0, 1000).Select(c => $"class {c}").ToList(),
            "Image", "Score", "PredictedLabel", batch, Array.Empty<EfficientNet.MLNet.EpochMetrics>()) { ScoringEngine = engine };
    }

    // ML.NET end to end from encoded images in memory (as Model Builder feeds bytes): decode, resize, batch, score.
    static double TransformInference(int batch, int size, int steps, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var images = Enumerable.Range(0, (steps + 2) * batch).Select(i => new EncodedRow { Image = Png(size, i) }).ToList();
        using var classifier = Classifier(size, batch, engine);
        classifier.Transform(ml.Data.LoadFromEnumerable(images.Take(2 * batch))).GetColumn<float[]>("Score").Count(); // warm-up: two passes
        var data = ml.Data.LoadFromEnumerable(images.Skip(2 * batch));
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
        Pass(); Pass(); // warm-up: every inference measurement starts after two passes (an engine's second pass is often still slow)
        return steps * batch / Enumerable.Range(0, steps).Sum(_ => Pass());
    }

    // Fit as the CLI's train runs it, from a folder of image files (LoadImages, decoding, resizing, augmentation with
    // random resized crops and flips, training), every image trained on (no validation part); the clock runs from the
    // Fit call to its end, as pytorch_side.py's fit-files from building the model to its last epoch.
    static (double Rate, List<long> RssAfterEpoch, double[] EpochRates) FitFromFiles(string folder, int batch, int size, int epochs, int threads, bool returnMemory, bool workerThread,
        Action? afterEpoch = null)
    {
        var contents = EfficientNet.MLNet.Datasets.ImageFolderDataset.Read(folder);
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(contents.Images);
        var prepared = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", "ImagePath")).Fit(rows).Transform(rows);
        var rss = new List<long>();
        var clock = Stopwatch.StartNew();
        // On a thread of its own, Fit runs as in a notebook, a web application or a test (glibc then serves it from a
        // thread arena, whose blocks over 64 MB are always mapped on their own); otherwise on the process's main thread, as the CLI's train.
        var trainer = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
        {
            Version = "b0", ImageSize = size, Epochs = epochs, BatchSize = batch, Seed = 1, Augment = true, HorizontalFlip = true, ValidationFraction = 0,
            LearningRate = 1e-3, Threads = threads, ReuseNativeMemory = !returnMemory,
            EpochCompleted = _ =>
            {
                using var process = Process.GetCurrentProcess();
                rss.Add(process.WorkingSet64);
                afterEpoch?.Invoke();
            },
        });
        EfficientNetTransformer? fitted = null;
        if (workerThread)
        {
            var thread = new Thread(() => fitted = trainer.Fit(prepared));
            thread.Start();
            thread.Join();
        }
        else
            fitted = trainer.Fit(prepared);
        using var model = fitted ?? throw new InvalidOperationException("Fit failed on its thread");
        return (epochs * contents.Images.Count / clock.Elapsed.TotalSeconds, rss, model.History.Select(h => h.ImagesPerSecond).ToArray());
    }

    // A scoring service's memory: 'count' images scored (Transform over a streamed view in batches, or one at a time
    // through a PredictionEngine when batch is 1), 256 distinct PNGs in turn; the resident memory after each tenth.
    static (double Rate, List<long> RssAfterTenth) ScoringMemory(int batch, int size, int count, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var pngs = Enumerable.Range(0, 256).Select(i => Png(size, i)).ToArray();
        using var classifier = Classifier(size, Math.Max(batch, 1), engine);
        classifier.WarmUp();
        var rss = new List<long>();
        var tenth = Math.Max(count / 10, 1);
        void Record(int scored)
        {
            if (scored % tenth != 0) return;
            using var process = Process.GetCurrentProcess();
            rss.Add(process.WorkingSet64);
        }
        var clock = Stopwatch.StartNew();
        if (batch <= 1)
        {
            using var predictor = ml.Model.CreatePredictionEngine<EncodedRow, ScoreRow>(classifier, new PredictionEngineOptions { OwnsTransformer = false });
            var row = new EncodedRow();
            for (var i = 1; i <= count; i++)
            {
                row.Image = pngs[i % pngs.Length];
                predictor.Predict(row);
                Record(i);
            }
        }
        else
        {
            var rows = Enumerable.Range(0, count).Select(i => new EncodedRow { Image = pngs[i % pngs.Length] });
            var scored = classifier.Transform(ml.Data.LoadFromEnumerable(rows));
            using var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name == "Score"));
            var score = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(scored.Schema["Score"]);
            var value = default(Microsoft.ML.Data.VBuffer<float>);
            for (var i = 1; cursor.MoveNext(); i++)
            {
                score(ref value);
                Record(i);
            }
        }
        return (count / clock.Elapsed.TotalSeconds, rss);
    }

    // Decoding and resizing alone, on one thread, the PNGs Transform is measured on: the share of Transform's time
    // that is not the network.
    static double Decoding(int size, int count)
    {
        var images = Enumerable.Range(0, count + 1).Select(i => Png(size, i)).ToList();
        EfficientNet.MLNet.Imaging.RgbImage.FromEncoded(images[0], size); // warm-up
        var clock = Stopwatch.StartNew();
        foreach (var image in images.Skip(1))
            EfficientNet.MLNet.Imaging.RgbImage.FromEncoded(image, size);
        return count / clock.Elapsed.TotalSeconds;
    }

    // A PredictionEngine scoring one image at a time, as a web service would, on a model loaded from a zip: the
    // optional WarmUp call, the first prediction (engine creation included), the second, and the median of the rest.
    static (double WarmUpMs, double FirstMs, double SecondMs, double MedianMs) Latency(int size, int predictions, ScoringEngine engine, bool warmUpFirst)
    {
        var ml = new MLContext(seed: 1);
        var images = Enumerable.Range(0, predictions + 2).Select(i => new EncodedRow { Image = Png(size, i) }).ToList();
        var zip = new MemoryStream();
        using (var trained = Classifier(size, 1, engine))
            ml.Model.Save(trained, ml.Data.LoadFromEnumerable(images.Take(1)).Schema, zip);
        zip.Position = 0;
        using var classifier = (EfficientNetTransformer)ml.Model.Load(zip, out _);
        classifier.ScoringEngine = engine;
        var clock = Stopwatch.StartNew();
        if (warmUpFirst)
            classifier.WarmUp();
        var warmUp = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        using var predictor = ml.Model.CreatePredictionEngine<EncodedRow, ScoreRow>(classifier, new PredictionEngineOptions { OwnsTransformer = false });
        var times = images.Select(image =>
        {
            predictor.Predict(image);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            return elapsed;
        }).ToList();
        return (warmUp, times[0], times[1], Statistics.Median(times.Skip(2)));
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    internal static byte[] Png(int size, int seed)
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

    internal sealed class EncodedRow
    {
        public byte[] Image { get; set; } = Array.Empty<byte>();
    }
}

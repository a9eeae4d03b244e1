using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

/// <summary>
/// EfficientNet-B0 at 224 against torchvision's efficientnet_b0 in eager PyTorch (Debian's python3-torch), same
/// machine, same thread count set on both sides, each measurement in a fresh process, the two sides alternating
/// run by run; medians of the runs, ratios, and the arithmetic rate against the machine's peak.
/// </summary>
internal static class PyTorchComparison
{
    // Preload: a C allocator put ahead of glibc's for the measurement's process (LD_PRELOAD).
    sealed record Measurement(string Name, string Side, string[] Arguments, string? Preload = null);

    // Debian's libtcmalloc-minimal4: both sides' Fit also runs with it preloaded when it is installed.
    const string Tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

    // Multiply-adds of one b0 forward pass at 224 with 1000 classes (ModelSummary; equal to torchvision's hook count).
    const double ForwardMultiplyAdds = 385_814_752;

    public static void Run(int runs, int threads, string python, string script, string? jsonPath, string? only = null)
    {
        var self = MeasurementProcess.Self;
        // The same image files for both sides' Fit: 128 images of 256 x 256 (PNG and JPEG) in 4 class folders.
        var imageFolder = Path.Combine(Path.GetTempPath(), "efficientnet-benchmark-fit-256");
        EfficientNet.MLNet.Datasets.SyntheticShapes.Write(imageFolder, imagesPerClass: 32, size: 256, seed: 1);
        // 5 epochs: the first is the warm-up the memory growth is measured after, as a real run's first epoch (hundreds of steps) would be.
        string[] Fit(int workers) => new[] { "--task", "fit-files", "--data", imageFolder, "--batch", "16", "--size", "224", "--threads", $"{threads}", "--epochs", "5", "--workers", $"{workers}" };
        // "ours" runs the network the way the library does (channels-last; batch norms folded for inference);
        // "plain" is the same network in NCHW without folding, to show what each fast path brings.
        // Inference: 12 timed batches after two warm-up passes (steady state). Training: 6 "epochs" of 4 steps, the
        // first of which is the warm-up the memory growth is measured after.
        string Steps(string task) => task is "train-bare" or "train" ? "4" : task == "latency" ? "20" : "12";
        string[] Ours(string task, int batch, bool libraryPath, string engine = "auto") =>
            new[] { "--task", task, "--batch", $"{batch}", "--threads", $"{threads}", "--steps", Steps(task), "--epochs", "6", "--engine", engine }
                .Concat(libraryPath ? new[] { "--channels-last", "--fold" } : Array.Empty<string>()).ToArray();
        string[] Theirs(string task, int batch) =>
            new[] { script, "--task", task, "--batch", $"{batch}", "--threads", $"{threads}", "--steps", Steps(task), "--epochs", "6" };
        var measurements = new[]
        {
            new Measurement("inference b16", "pytorch", Theirs("infer", 16)),
            new Measurement("inference b16", "ours", Ours("infer-bare", 16, libraryPath: true)),
            new Measurement("inference b32", "pytorch", Theirs("infer", 32)),
            new Measurement("inference b32", "ours", Ours("infer-bare", 32, libraryPath: true)),
            new Measurement("inference b32", "plain", Ours("infer-bare", 32, libraryPath: false)),
            new Measurement("inference b32 ML.NET Transform", "ours", Ours("infer-transform", 32, libraryPath: true)),
            new Measurement("inference b32 ML.NET Transform TorchSharp", "ours", Ours("infer-transform", 32, libraryPath: true, engine: "torchsharp")),
            new Measurement("inference b32 ONNX Runtime", "ours", Ours("infer-onnx-bare", 32, libraryPath: false)),
            new Measurement("latency b1", "pytorch", Theirs("infer", 1)),
            new Measurement("latency b1", "ours", Ours("latency", 1, libraryPath: false)),
            new Measurement("latency b1 TorchSharp", "ours", Ours("latency", 1, libraryPath: false, engine: "torchsharp")),
            new Measurement("latency b1 warm-up", "ours", Ours("latency", 1, libraryPath: false).Append("--warm-up").ToArray()),
            new Measurement("fit from files b16", "pytorch", Fit(workers: 0).Prepend(script).ToArray()),
            new Measurement("fit from files b16 workers 2", "pytorch", Fit(workers: 2).Prepend(script).ToArray()),
            new Measurement("fit from files b16", "ours", Fit(workers: 0)),
            new Measurement("fit from files b16 worker thread", "ours", Fit(workers: 0).Append("--worker-thread").ToArray()),
            new Measurement("fit from files b16 glibc defaults", "ours", Fit(workers: 0).Append("--return-memory").ToArray()),
            new Measurement("fit from files b16 tcmalloc", "pytorch", Fit(workers: 0).Prepend(script).ToArray(), Tcmalloc),
            new Measurement("fit from files b16 tcmalloc", "ours", Fit(workers: 0), Tcmalloc),
            new Measurement("training step b16 AdamW", "pytorch", Theirs("train", 16)),
            new Measurement("training step b16 AdamW", "ours", Ours("train-bare", 16, libraryPath: true)),
            new Measurement("training step b16 AdamW", "plain", Ours("train-bare", 16, libraryPath: false)),
        }.Where(m => only is null || m.Name.Contains(only, StringComparison.OrdinalIgnoreCase))
         .Where(m => m.Preload is null || File.Exists(m.Preload)).ToArray();
        if (!File.Exists(Tcmalloc))
            Console.WriteLine($"{Tcmalloc} is not installed (apt-get install libtcmalloc-minimal4): the rows with tcmalloc are left out.");

        // Figures are per CPU kind: say which one, and with which float32 kernels (the library's check decides, per CPU).
        Console.WriteLine($"CPU: {EfficientNet.MLNet.CpuDescription.Current}; EFFICIENTNET_CPU_KERNELS={Environment.GetEnvironmentVariable("EFFICIENTNET_CPU_KERNELS") ?? "(unset: auto)"}, ONEDNN_MAX_CPU_ISA={Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? "(unset)"}");
        var results = new List<(Measurement Measurement, int Run, JsonNode Result)>();
        for (var run = 1; run <= runs; run++)
        {
            // Alternate which side goes first, pair by pair, so neither always runs on a warmer machine.
            var order = run % 2 == 1 ? measurements : measurements.GroupBy(m => new[] { " ML.NET", " ONNX", " TorchSharp", " warm-up", " workers",  " worker thread", " glibc", " tcmalloc" }.Aggregate(m.Name, (name, suffix) => name.Split(suffix)[0])).SelectMany(g => g.Reverse()).ToArray();
            foreach (var measurement in order)
            {
                var result = Launch(measurement.Side == "pytorch" ? python : self, measurement.Arguments, measurement.Preload);
                results.Add((measurement, run, result));
                Console.WriteLine($"run {run}: {measurement.Side,-7} {measurement.Name,-42} {result["images_per_second"]!.GetValue<double>(),8:0.0} img/s, peak {result["peak_rss_bytes"]!.GetValue<long>() >> 20} MiB");
            }
        }

        // NaN for a measurement --only left out (its rows are not printed).
        double Median(string name, string side, Func<JsonNode, double> value) =>
            results.Where(r => r.Measurement.Name == name && r.Measurement.Side == side).Select(r => value(r.Result)).ToList() is { Count: > 0 } values
                ? Statistics.Median(values) : double.NaN;
        double Rate(string name, string side) => Median(name, side, r => r["images_per_second"]!.GetValue<double>());
        double Peak(string name, string side) => Median(name, side, r => r["peak_rss_bytes"]!.GetValue<long>());
        double Growth(string name, string side) => Median(name, side, r =>
        {
            // From the end of the first (warm-up) epoch to the end of the last.
            var rss = r["rss_after_epoch_bytes"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            return (rss[^1] - rss[0]) / rss[0];
        });

        var rows = new List<object>();
        void Row(string what, double ours, double pytorch, string target)
        {
            if (double.IsNaN(ours))
                return;
            double? ratio = pytorch > 0 && !what.Contains("growth") ? ours / pytorch : null; // a ratio of two growths means nothing
            rows.Add(new { what, ours, pytorch, ratio, target });
            Console.WriteLine($"| {what,-52} | {ours,8:0.0} | {(double.IsNaN(pytorch) ? "-" : pytorch.ToString("0.0")),8} | {(ratio is { } r ? r.ToString("0.00") : "-"),5} | {target,-9} |");
        }
        Console.WriteLine();
        Console.WriteLine($"EfficientNet-B0 at 224, {threads} threads both sides, medians of {runs} runs (ratio = ours / PyTorch)");
        Console.WriteLine($"| {"measurement",-52} | {"ours",8} | {"PyTorch",8} | ratio | target    |");
        Console.WriteLine($"|{new string('-', 54)}|{new string('-', 10)}|{new string('-', 10)}|-------|-----------|");
        Row("inference b16, network (img/s)", Rate("inference b16", "ours"), Rate("inference b16", "pytorch"), "");
        Row("inference b32, network (img/s)", Rate("inference b32", "ours"), Rate("inference b32", "pytorch"), "");
        Row("inference b32, ML.NET Transform from PNG bytes (img/s)", Rate("inference b32 ML.NET Transform", "ours"), Rate("inference b32", "pytorch"), ">= 1.3");
        Row("inference b32, Transform with the TorchSharp engine (img/s)", Rate("inference b32 ML.NET Transform TorchSharp", "ours"), Rate("inference b32", "pytorch"), "");
        Row("inference b32, ONNX Runtime alone on the export (img/s)", Rate("inference b32 ONNX Runtime", "ours"), Rate("inference b32", "pytorch"), "");
        Row("one image, PredictionEngine median (ms; PyTorch: batch 1)", Median("latency b1", "ours", r => r["median_prediction_ms"]!.GetValue<double>()),
            1000 / Rate("latency b1", "pytorch"), "");
        Row("one image, TorchSharp engine median (ms)", Median("latency b1 TorchSharp", "ours", r => r["median_prediction_ms"]!.GetValue<double>()),
            1000 / Rate("latency b1", "pytorch"), "");
        Row("first prediction of a loaded zip (ms)", Median("latency b1", "ours", r => r["first_prediction_ms"]!.GetValue<double>()), 0, "");
        Row("first prediction after WarmUp() (ms)", Median("latency b1 warm-up", "ours", r => r["first_prediction_ms"]!.GetValue<double>()), 0, "");
        Row("WarmUp() itself (ms)", Median("latency b1 warm-up", "ours", r => r["warm_up_ms"]!.GetValue<double>()), 0, "");
        var transformOverOnnx = Rate("inference b32 ML.NET Transform", "ours") / Rate("inference b32 ONNX Runtime", "ours");
        if (!double.IsNaN(transformOverOnnx))
        {
            Console.WriteLine($"| {"Transform from PNG bytes / ONNX Runtime alone",-52} | {transformOverOnnx,8:0.00} | {"",8} |       | >= 0.9    |");
            rows.Add(new { what = "Transform / ONNX Runtime alone", ours = transformOverOnnx, pytorch = 0.0, ratio = (double?)null, target = ">= 0.9" });
        }
        Row("inference b32, plain NCHW, no folding (img/s)", Rate("inference b32", "plain"), Rate("inference b32", "pytorch"), "");
        Row("training step b16 AdamW (img/s)", Rate("training step b16 AdamW", "ours"), Rate("training step b16 AdamW", "pytorch"), ">= 1.1");
        Row("training step b16, plain NCHW (img/s)", Rate("training step b16 AdamW", "plain"), Rate("training step b16 AdamW", "pytorch"), "");
        // PyTorch's stronger DataLoader setting is the peer (worker processes decode beside the training threads).
        var pytorchFit = Math.Max(Rate("fit from files b16", "pytorch"), Rate("fit from files b16 workers 2", "pytorch"));
        Row("Fit from image files, b16, 5 epochs (img/s)", Rate("fit from files b16", "ours"), pytorchFit, ">= 1.5");
        Row("  Fit on a worker thread (img/s)", Rate("fit from files b16 worker thread", "ours"), pytorchFit, "");
        Row("  Fit with ReuseNativeMemory off (img/s)", Rate("fit from files b16 glibc defaults", "ours"), pytorchFit, "");
        Row("  Fit with tcmalloc preloaded (img/s)", Rate("fit from files b16 tcmalloc", "ours"), pytorchFit, "");
        Row("  the same, PyTorch with tcmalloc too (img/s)", Rate("fit from files b16 tcmalloc", "ours"), Rate("fit from files b16 tcmalloc", "pytorch"), "");
        Row("  PyTorch DataLoader with 0 / 2 workers (img/s)", Rate("fit from files b16", "pytorch"), Rate("fit from files b16 workers 2", "pytorch"), "");
        // Against the single-process DataLoader: with workers, the decoding processes' memory is not in the main one's peak.
        Row("peak resident memory, Fit from files, 0 workers (MiB)", Peak("fit from files b16", "ours") / (1 << 20), Peak("fit from files b16", "pytorch") / (1 << 20), "<= 1.0");
        Row("  on a worker thread (MiB)", Peak("fit from files b16 worker thread", "ours") / (1 << 20), Peak("fit from files b16", "pytorch") / (1 << 20), "");
        Row("  with ReuseNativeMemory off (MiB)", Peak("fit from files b16 glibc defaults", "ours") / (1 << 20), Peak("fit from files b16", "pytorch") / (1 << 20), "");
        Row("  with tcmalloc preloaded (MiB)", Peak("fit from files b16 tcmalloc", "ours") / (1 << 20), Peak("fit from files b16", "pytorch") / (1 << 20), "");
        Row("  the same, PyTorch with tcmalloc too (MiB)", Peak("fit from files b16 tcmalloc", "ours") / (1 << 20), Peak("fit from files b16 tcmalloc", "pytorch") / (1 << 20), "");
        Row("memory growth, Fit from files, epoch 1 to 5 (%)", 100 * Growth("fit from files b16", "ours"), 100 * Growth("fit from files b16", "pytorch"), "< 5 each");
        Row("  on a worker thread (%)", 100 * Growth("fit from files b16 worker thread", "ours"), double.NaN, "");
        Row("  growth with tcmalloc preloaded, both sides (%)", 100 * Growth("fit from files b16 tcmalloc", "ours"), 100 * Growth("fit from files b16 tcmalloc", "pytorch"), "");
        Row("peak resident memory, training (MiB)", Peak("training step b16 AdamW", "ours") / (1 << 20), Peak("training step b16 AdamW", "pytorch") / (1 << 20), "<= 1.1");
        Row("resident memory growth, epoch 1 to 6 of 4 steps (%)", 100 * Growth("training step b16 AdamW", "ours"), 100 * Growth("training step b16 AdamW", "pytorch"), "< 5 each");

        // The arithmetic rate: forward multiply-adds per image, training counted as 3 forward passes (forward,
        // gradients of activations and of weights).
        var peak = MachinePeak(threads);
        var kernels = results.Where(r => r.Measurement.Side != "pytorch").Select(r => r.Result["cpu_kernels"]?.GetValue<string>()).FirstOrDefault(k => k is not null);
        Console.WriteLine();
        Console.WriteLine($"Our side's kernel configuration: {kernels ?? "(no measurement reported one)"}");
        Console.WriteLine($"Arithmetic rate against this machine's peak ({peak.Description}):");
        foreach (var (name, factor) in new[] { ("inference b32", 1.0), ("inference b32 ONNX Runtime", 1.0), ("inference b32 ML.NET Transform", 1.0), ("training step b16 AdamW", 3.0) })
            foreach (var side in new[] { "ours", "pytorch" })
            {
                if (!results.Any(r => r.Measurement.Name == name && r.Measurement.Side == side))
                    continue;
                var macs = Rate(name, side) * factor * ForwardMultiplyAdds;
                Console.WriteLine($"  {name,-32} {side,-8} {macs / 1e9,6:0.0} GMAC/s = {100 * macs / peak.MultiplyAddsPerSecond,4:0.0}% of peak");
            }

        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                date = DateTime.UtcNow, threads, runs, machine = peak.Description, cpu = EfficientNet.MLNet.CpuDescription.Current.ToString(), kernels, rows,
                raw = results.Select(r => new { r.Measurement.Name, r.Measurement.Side, r.Run, r.Result }),
            }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
    }

    static JsonNode Launch(string program, string[] arguments, string? preload) =>
        MeasurementProcess.Run(program, arguments, preload is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["LD_PRELOAD"] = preload });

    // FP32 fused multiply-adds per cycle: 2 FMA pipes x 16 lanes with AVX-512 (Zen 4/5, recent Xeons), 2 x 8 with AVX2.
    static (double MultiplyAddsPerSecond, string Description) MachinePeak(int threads)
    {
        var info = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        var model = info.Split('\n').FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim() ?? "unknown CPU";
        var mhz = double.TryParse(info.Split('\n').FirstOrDefault(l => l.StartsWith("cpu MHz"))?.Split(':')[1].Trim(),
            System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var m) ? m : 2500;
        var lanes = info.Contains(" avx512f") ? 16 : info.Contains(" avx2") ? 8 : 4;
        var peak = threads * mhz * 1e6 * 2 * lanes;
        return (peak, $"{model}, {threads} cores x {mhz / 1000:0.00} GHz x 2 FMA x {lanes} fp32 lanes = {peak / 1e9:0} GMAC/s");
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientNet.MLNet;

/// <summary>
/// What each CPU kernel configuration costs (CpuKernels' fallbacks): training and TorchSharp scoring of b0, each
/// measurement in its own process under EFFICIENTNET_CPU_KERNELS=libtorch, avx2 and avx2-everywhere, configurations
/// alternating within each run, medians; ratios against libtorch's own kernels. Prints the CPU and each process's
/// kernel check, so that the table says which machine and which kernels it measured.
/// </summary>
internal static class KernelConfigurationCost
{
    static readonly string[] Configurations = ["libtorch", "avx2", "avx2-everywhere"];

    static readonly (string Name, string[] Arguments)[] Measurements =
    [
        ("training, b0 at 224, batch 16", ["--task", "train-bare", "--batch", "16", "--size", "224", "--steps", "4", "--epochs", "2"]),
        ("training, b0 at 224, batch 16, channels-last", ["--task", "train-bare", "--batch", "16", "--size", "224", "--steps", "4", "--epochs", "2", "--channels-last"]),
        ("TorchSharp scoring (folded, channels-last), b0 at 224, batch 32", ["--task", "infer-bare", "--batch", "32", "--size", "224", "--steps", "4", "--channels-last", "--fold"]),
    ];

    public static void Run(int runs, int threads, string? jsonPath)
    {
        var self = MeasurementProcess.Self;
        var assembly = typeof(KernelConfigurationCost).Assembly.Location;
        Console.WriteLine($"CPU: {CpuDescription.Current}");
        Console.WriteLine($"{runs} runs, {threads} threads; each measurement in its own process, configurations alternating");
        var results = new List<(string Measurement, string Configuration, int Run, double ImagesPerSecond)>();
        for (var run = 1; run <= runs; run++)
            foreach (var (name, arguments) in Measurements)
                foreach (var configuration in run % 2 == 1 ? Configurations : Configurations.Reverse())
                {
                    var result = Launch(self, [assembly, .. arguments, "--threads", threads.ToString(CultureInfo.InvariantCulture)], configuration);
                    var rate = result["images_per_second"]!.GetValue<double>();
                    results.Add((name, configuration, run, rate));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {run}: {name}, {configuration}: {rate:0.0} img/s"));
                }

        Console.WriteLine();
        Console.WriteLine($"| measurement | {string.Join(" | ", Configurations.Select(c => $"{c} img/s"))} | {string.Join(" | ", Configurations.Skip(1).Select(c => $"{c} / libtorch"))} |");
        Console.WriteLine($"|---|{string.Concat(Enumerable.Repeat("---|", Configurations.Length * 2 - 1))}");
        var rows = new List<object>();
        foreach (var (name, _) in Measurements)
        {
            var medians = Configurations.Select(c => Median(results.Where(r => r.Measurement == name && r.Configuration == c).Select(r => r.ImagesPerSecond))).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {string.Join(" | ", medians.Select(m => m.ToString("0.0", CultureInfo.InvariantCulture)))} | {string.Join(" | ", medians.Skip(1).Select(m => (m / medians[0]).ToString("0.00", CultureInfo.InvariantCulture) + "x"))} |"));
            rows.Add(new { measurement = name, images_per_second = Configurations.Zip(medians).ToDictionary(p => p.First, p => p.Second) });
        }
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { date = DateTime.UtcNow, cpu = CpuDescription.Current.ToString(), threads, runs, rows,
                raw = results.Select(r => new { r.Measurement, r.Configuration, r.Run, r.ImagesPerSecond }) }, new JsonSerializerOptions { WriteIndented = true }));
    }

    static JsonNode Launch(string program, string[] arguments, string configuration)
    {
        var result = MeasurementProcess.Run(program, arguments, new Dictionary<string, string> { [CpuKernels.ChoiceVariable] = configuration });
        var kernels = result["cpu_kernels"]?.GetValue<string>() ?? "";
        if (!kernels.Contains($"using {KernelDescription(configuration)}", StringComparison.Ordinal))
            throw new InvalidOperationException($"The measurement under {configuration} ran with other kernels: {kernels}");
        return result;
    }

    static string KernelDescription(string configuration) => configuration switch
    {
        "libtorch" => "libtorch's own kernels",
        "avx2" => "oneDNN capped at AVX2",
        _ => "oneDNN, ATen and MKL capped at AVX2",
    };

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;

/// <summary>
/// Mode 6: the training recipe, technique by technique, on data harder than the embedded shapes: test accuracy and
/// Fit time of each configuration over several seeds (the same images and seed for every configuration within a seed),
/// beside scikit-learn's SVC on the same images' raw pixels. The table in docs/TRAINING.md comes from here.
/// </summary>
internal static class RecipeComparison
{
    /// <summary>The configurations, each a change to the library's defaults ("defaults": none); "a+b" on the command line combines them.</summary>
    public static readonly IReadOnlyDictionary<string, Func<EfficientNetTrainer.Options, EfficientNetTrainer.Options>> Configurations =
        new Dictionary<string, Func<EfficientNetTrainer.Options, EfficientNetTrainer.Options>>
        {
            ["defaults"] = o => o,
            ["trivialaugment"] = o => o with { AugmentationPolicy = AugmentationPolicy.TrivialAugmentWide },
            ["randaugment"] = o => o with { AugmentationPolicy = AugmentationPolicy.RandAugment },
            ["augmix"] = o => o with { AugmentationPolicy = AugmentationPolicy.AugMix },
            ["erasing"] = o => o with { RandomErasingProbability = 0.25 },
            ["mixup"] = o => o with { Mixup = new Mixup() },
            ["ema"] = o => o with { ModelEma = new ModelEma() },
            ["norm-wd0"] = o => o with { NormAndBiasWeightDecay = 0 },
            ["balanced"] = o => o with { BalanceClasses = true },
            ["no-flip"] = o => o with { HorizontalFlip = false },
            ["flip"] = o => o with { HorizontalFlip = true },
            ["batch-8"] = o => o with { BatchSize = 8 },
            ["lr-3e-3"] = o => o with { LearningRate = 3e-3 },
            ["crop-0.8"] = o => o with { RandomCropMinimumScale = 0.8 },
            ["no-augment"] = o => o with { Augment = false },
            ["all"] = o => o with
            {
                AugmentationPolicy = AugmentationPolicy.TrivialAugmentWide, RandomErasingProbability = 0.25, Mixup = new Mixup(),
                ModelEma = new ModelEma(), NormAndBiasWeightDecay = 0,
            },
        };

    public static void Run(string datasetName, string version, int seeds, int epochs, int size, int trainPerClass, int testPerClass,
        IReadOnlyList<string> configurations, string python, int? threads, TestTimeAugmentation views, string? json)
    {
        var unknown = configurations.SelectMany(c => c.Split('+')).Where(c => !Configurations.ContainsKey(c)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown configurations {string.Join(", ", unknown)}; known: {string.Join(", ", Configurations.Keys)}");
        Console.WriteLine($"EfficientNet-{version} from scratch, {epochs} epochs at {size} px, {datasetName}, {trainPerClass} training images per class (mean), {seeds} seeds; configurations: {string.Join(", ", configurations)}");
        var rows = new List<(string Config, int Seed, double Accuracy, double Seconds)>();
        var svcScript = Path.Combine(AppContext.BaseDirectory, "svc_baseline.py");
        for (var seed = 1; seed <= seeds; seed++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"efficientnet-recipe-{datasetName}-{size}-{trainPerClass}-{seed}");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            var data = datasetName switch
            {
                "digits" => HandwrittenDigits.Write(folder, size, trainPerClass, seed),
                "cluttered" => ClutteredShapes.Write(folder, size, trainPerClass, testPerClass, seed),
                _ => throw new ArgumentException($"Unknown dataset {datasetName}: digits or cluttered"),
            };
            var csv = Path.Combine(folder, "pixels.csv");
            data.WritePixelsCsv(csv, grey: datasetName == "digits");
            if (Svc(python, svcScript, csv) is { } svc)
            {
                rows.Add(("svc (raw pixels)", seed, svc, double.NaN));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} {"svc (raw pixels)",-24} test accuracy {svc:0.000}"));
            }

            var ml = new MLContext(seed);
            var train = ml.Data.LoadFromEnumerable(data.Train);
            var test = ml.Data.LoadFromEnumerable(data.Test);
            var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(train);
            foreach (var config in configurations)
            {
                // "a+b": the changes of a, then those of b.
                var options = config.Split('+').Aggregate(new EfficientNetTrainer.Options { Version = version, ImageSize = size, Epochs = epochs, Seed = seed, Threads = threads },
                    (current, part) => Configurations[part](current));
                var (accuracy, augmented, seconds) = TestAccuracy.Measure(ml, prepare, options, train, test, views);
                rows.Add((config, seed, accuracy, seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} {config,-24} test accuracy {accuracy:0.000}  Fit {seconds:0.0} s"));
                if (views != TestTimeAugmentation.None)
                {
                    rows.Add(($"{config} (tta {views})", seed, augmented, double.NaN));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} {config + " (tta)",-24} test accuracy {augmented:0.000}"));
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("configuration              mean accuracy (min..max)   median Fit s   time / defaults");
        var defaultSeconds = rows.Where(r => r.Config == "defaults").Select(r => r.Seconds).DefaultIfEmpty(double.NaN).ToList();
        foreach (var group in rows.GroupBy(r => r.Config))
        {
            var seconds = Statistics.Median(group.Select(r => r.Seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group.Key,-26} {group.Average(r => r.Accuracy):0.000} ({group.Min(r => r.Accuracy):0.000}..{group.Max(r => r.Accuracy):0.000})      {seconds,8:0.0}      {seconds / Statistics.Median(defaultSeconds),6:0.00}"));
        }
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { date = DateTime.UtcNow, dataset = datasetName, version, epochs, size, trainPerClass, testPerClass,
                rows = rows.Select(r => new { r.Config, r.Seed, r.Accuracy, Seconds = double.IsNaN(r.Seconds) ? (double?)null : r.Seconds }) }, new JsonSerializerOptions { WriteIndented = true }));
    }

    static double? Svc(string python, string script, string csv)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(python, new[] { script, csv }) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0)
                return double.Parse(output.Trim(), CultureInfo.InvariantCulture);
            Console.WriteLine($"svc_baseline.py failed (python3-sklearn installed?): {error.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"{python} could not run: {e.Message}");
        }
        return null;
    }
}

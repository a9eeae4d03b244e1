using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;

/// <summary>
/// Mode 4: what EfficientNetV2's progressive learning does to Fit's time and to test accuracy, against the same run
/// at a fixed image size: small-data shapes (few training images per class, a large held-out test set drawn with
/// another seed), several seeds, the two configurations alternating within each seed.
/// </summary>
internal static class ProgressiveLearningComparison
{
    public static void Run(string version, int seeds, int epochs, int size, int startSize, int trainPerClass, int testPerClass, string? json)
    {
        Console.WriteLine($"EfficientNet-{version}, {epochs} epochs at {size} px (progressive: from {startSize} px over 4 stages), {trainPerClass} training and {testPerClass} test images per class, {seeds} seeds");
        var rows = new List<(string Config, int Seed, double Accuracy, double Seconds)>();
        for (var seed = 1; seed <= seeds; seed++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"efficientnet-progressive-{size}-{seed}");
            var ml = new MLContext(seed);
            var train = ml.Data.LoadFromEnumerable(SyntheticShapes.Write(Path.Combine(folder, "train"), trainPerClass, size, seed));
            var test = ml.Data.LoadFromEnumerable(SyntheticShapes.Write(Path.Combine(folder, "test"), testPerClass, size, 1000 + seed));
            var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(train);
            foreach (var (config, progressive) in new[] { ("fixed", (ProgressiveLearning?)null), ("progressive", new ProgressiveLearning(startSize, Stages: Math.Min(4, epochs))) })
            {
                var options = new EfficientNetTrainer.Options
                {
                    Version = version, ImageSize = size, Epochs = epochs, BatchSize = 16, Seed = seed, ProgressiveLearning = progressive, HorizontalFlip = true, // as measured in docs/PERFORMANCE.md
                };
                var (accuracy, seconds) = TestAccuracy.Measure(ml, prepare, options, train, test);
                rows.Add((config, seed, accuracy, seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} {config,-12} test accuracy {accuracy:0.000}  Fit {seconds:0.0} s"));
            }
        }
        Console.WriteLine();
        Console.WriteLine("configuration   mean accuracy (min..max)   median Fit seconds");
        foreach (var group in rows.GroupBy(r => r.Config))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group.Key,-15} {group.Average(r => r.Accuracy):0.000} ({group.Min(r => r.Accuracy):0.000}..{group.Max(r => r.Accuracy):0.000})      {Statistics.Median(group.Select(r => r.Seconds)):0.0}"));
        var fixedSeconds = Statistics.Median(rows.Where(r => r.Config == "fixed").Select(r => r.Seconds));
        var progressiveSeconds = Statistics.Median(rows.Where(r => r.Config == "progressive").Select(r => r.Seconds));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"progressive / fixed Fit time: {progressiveSeconds / fixedSeconds:0.00}"));
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { date = DateTime.UtcNow, version, epochs, size, startSize, trainPerClass, testPerClass, rows = rows.Select(r => new { r.Config, r.Seed, r.Accuracy, r.Seconds }) },
                new JsonSerializerOptions { WriteIndented = true }));
    }
}

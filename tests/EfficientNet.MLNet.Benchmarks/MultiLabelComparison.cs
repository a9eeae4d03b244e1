using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EfficientNet.MLNet;
using EfficientNet.MLNet.MultiLabel;
using EfficientNet.MLNet.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;

/// <summary>
/// Mode 9: multi-label training against the naive alternatives on real images (docs/TRAINING.md, "Multi-label"): canvases
/// of two or three handwritten digits (<see cref="DigitCanvases"/>), EfficientNet-b0 from scratch, every configuration at
/// the same image-steps (epochs x training images), thresholds of every one chosen on the same validation canvases, the
/// same test canvases. The alternatives: one binary EfficientNet per label ("one-vs-rest", each trained for 1/K of the
/// epochs), and one multiclass EfficientNet over the label combinations seen in training ("powerset", a label's score
/// the summed probability of the combinations that hold it). "crop-augment" turns on the random resized crop (from half
/// the area) that is the multiclass default; the alternatives train as the multi-label model does (no crop), otherwise
/// with the multiclass defaults.
/// </summary>
internal static class MultiLabelComparison
{
    static readonly Dictionary<string, Func<EfficientNetTrainer.Options, EfficientNetTrainer.Options>> Configurations = new()
    {
        ["defaults"] = o => o,
        ["crop-augment"] = o => o with { Augment = true },
        ["no-smoothing"] = o => o with { LabelSmoothing = 0 },
        ["asymmetric"] = o => o with { MultiLabel = o.MultiLabel! with { Loss = MultiLabelLossKind.Asymmetric } },
        ["no-positive-weights"] = o => o with { MultiLabel = o.MultiLabel! with { PositiveWeights = false } },
        ["lr-2e-3"] = o => o with { LearningRate = 2e-3 },
        ["one-vs-rest"] = o => o,
        ["powerset"] = o => o,
    };

    public static void Run(int seeds, int epochs, int size, int trainCount, int testCount, IReadOnlyList<string> configurations, string? json)
    {
        var unknown = configurations.SelectMany(c => c.Split('+')).Where(c => !Configurations.ContainsKey(c)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown configurations {string.Join(", ", unknown)}; known: {string.Join(", ", Configurations.Keys)}");
        Console.WriteLine($"Multi-label digit canvases at {size} px: {trainCount} training, {trainCount / 4} validation, {testCount} test canvases; EfficientNet-b0 from scratch, {epochs} epochs' image-steps each; {seeds} seeds; {string.Join(", ", configurations)}");
        var rows = new List<Row>();
        for (var seed = 1; seed <= seeds; seed++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"efficientnet-multilabel-{size}-{trainCount}-{seed}");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            var (train, validation, test) = DigitCanvases.Write(folder, size / 2, (trainCount, trainCount / 4, testCount), seed);
            var ml = new MLContext(seed);
            var load = ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(View(ml, train));
            var truth = test.Rows.Select(r => Flags(r.Digits)).ToList();
            var validationTruth = validation.Rows.Select(r => r.Digits).ToList();
            foreach (var config in configurations)
            {
                var options = config.Split('+').Aggregate(new EfficientNetTrainer.Options
                {
                    ImageSize = size, Epochs = epochs, Seed = seed, LabelColumnName = "Labels", MultiLabel = new MultiLabelOptions(),
                    ValidationSet = load.Transform(View(ml, validation)),
                }, (current, part) => Configurations[part](current));
                var clock = Stopwatch.StartNew();
                var (scores, validationScores) = config switch
                {
                    "one-vs-rest" => OneVersusRest(ml, load, options, train, validation, test),
                    "powerset" => Powerset(ml, load, options, train, validation, test),
                    _ => MultiLabel(ml, load, options, train, validation, test),
                };
                var seconds = clock.Elapsed.TotalSeconds;
                var thresholds = ThresholdChoice.Choose(validationScores, validationTruth, DigitCanvases.Labels.Length, null);
                var metrics = MultiLabelClassificationMetrics.Compute(scores, truth, DigitCanvases.Labels, thresholds);
                rows.Add(new Row(config, seed, metrics.MeanAveragePrecision, metrics.MicroF1, metrics.MacroF1, metrics.SubsetAccuracy, seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"seed {seed} {config,-18} mAP {metrics.MeanAveragePrecision:0.000}  micro F1 {metrics.MicroF1:0.000}  macro F1 {metrics.MacroF1:0.000}  subset {metrics.SubsetAccuracy:0.000}  {seconds:0.0} s"));
            }
        }
        Console.WriteLine();
        Console.WriteLine("configuration        mAP (min..max)          micro F1  macro F1  subset acc.  median s");
        foreach (var group in rows.GroupBy(r => r.Config))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group.Key,-20} {group.Average(r => r.MeanAveragePrecision):0.000} ({group.Min(r => r.MeanAveragePrecision):0.000}..{group.Max(r => r.MeanAveragePrecision):0.000})   {group.Average(r => r.MicroF1),8:0.000}  {group.Average(r => r.MacroF1),8:0.000}  {group.Average(r => r.SubsetAccuracy),11:0.000}  {Statistics.Median(group.Select(r => r.Seconds)),8:0.0}"));
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { date = DateTime.UtcNow, epochs, size, trainCount, testCount, rows }, new JsonSerializerOptions { WriteIndented = true }));
    }

    internal sealed record Row(string Config, int Seed, double MeanAveragePrecision, double MicroF1, double MacroF1, double SubsetAccuracy, double Seconds);

    sealed class CanvasRow
    {
        public string ImagePath { get; set; } = "";
        public string Labels { get; set; } = "";
    }

    static IDataView View(MLContext ml, DigitCanvases.Split split, Func<int[], string>? label = null) =>
        ml.Data.LoadFromEnumerable(split.Rows.Select(r => new CanvasRow { ImagePath = r.Path, Labels = label?.Invoke(r.Digits) ?? string.Join(';', r.Digits) }));

    static bool[] Flags(int[] digits) => Enumerable.Range(0, 10).Select(digits.Contains).ToArray();

    static List<float[]> Scores(EfficientNetTransformer model, IDataView data) =>
        model.Transform(data).GetColumn<float[]>("Score").ToList();

    static (List<float[]> Test, List<float[]> Validation) MultiLabel(MLContext ml, ITransformer load, EfficientNetTrainer.Options options,
        DigitCanvases.Split train, DigitCanvases.Split validation, DigitCanvases.Split test)
    {
        using var model = ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options).Fit(load.Transform(View(ml, train)));
        // The model's label order is the labels' ordinal order: "0".."9", the digits'.
        return (Scores(model, load.Transform(View(ml, test))), Scores(model, load.Transform(View(ml, validation))));
    }

    // K binary models, each for 1/K of the epochs: the same image-steps in all.
    static (List<float[]> Test, List<float[]> Validation) OneVersusRest(MLContext ml, ITransformer load, EfficientNetTrainer.Options options,
        DigitCanvases.Split train, DigitCanvases.Split validation, DigitCanvases.Split test)
    {
        var (testScores, validationScores) = (test.Rows.Select(_ => new float[10]).ToList(), validation.Rows.Select(_ => new float[10]).ToList());
        var epochs = Math.Max(1, options.Epochs / 10);
        for (var digit = 0; digit < 10; digit++)
        {
            string Has(int[] digits) => digits.Contains(digit) ? "yes" : "no";
            var keys = ml.Transforms.Conversion.MapValueToKey("Labels").Fit(View(ml, train, Has));
            var binary = options with { MultiLabel = null, Augment = options.AugmentInUse, Epochs = epochs, WarmupEpochs = Math.Min(options.WarmupEpochs, epochs), ValidationSet = null };
            using var model = ml.MulticlassClassification.Trainers.EfficientNet(binary).Fit(load.Transform(keys.Transform(View(ml, train, Has))));
            var yes = model.ClassNames.ToList().IndexOf("yes");
            var t = Scores(model, load.Transform(View(ml, test)));
            var v = Scores(model, load.Transform(View(ml, validation)));
            for (var i = 0; i < t.Count; i++) testScores[i][digit] = t[i][yes];
            for (var i = 0; i < v.Count; i++) validationScores[i][digit] = v[i][yes];
        }
        return (testScores, validationScores);
    }

    // One class per label combination seen in training; a label's score sums the combinations that hold it.
    static (List<float[]> Test, List<float[]> Validation) Powerset(MLContext ml, ITransformer load, EfficientNetTrainer.Options options,
        DigitCanvases.Split train, DigitCanvases.Split validation, DigitCanvases.Split test)
    {
        var keys = ml.Transforms.Conversion.MapValueToKey("Labels").Fit(View(ml, train));
        using var model = ml.MulticlassClassification.Trainers.EfficientNet(options with { MultiLabel = null, Augment = options.AugmentInUse, ValidationSet = null }).Fit(load.Transform(keys.Transform(View(ml, train))));
        var combinations = model.ClassNames.Select(name => name.Split(';').Select(int.Parse).ToArray()).ToList();
        List<float[]> LabelScores(List<float[]> scores) => scores.Select(s =>
        {
            var labels = new float[10];
            for (var c = 0; c < combinations.Count; c++)
                foreach (var digit in combinations[c])
                    labels[digit] += s[c];
            return labels;
        }).ToList();
        return (LabelScores(Scores(model, load.Transform(View(ml, test)))), LabelScores(Scores(model, load.Transform(View(ml, validation)))));
    }
}

using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Explanations;
using Microsoft.ML;

/// <summary>
/// Mode 7: which layer's Grad-CAM points at the evidence. b0 trained from scratch on ShapesAmongDistractors (the class's
/// shape in one random quadrant, class-free distractors in the others); for each layer of features, over the correctly
/// classified test images: how often the shape's quadrant has the largest share of the heat map, how often more than
/// half, and its mean share (chance: 0.25 each). The README's "Explaining predictions" has the table.
/// </summary>
static class GradCamLayerComparison
{
    public static void Run(int size, int trainPerClass, int testPerClass, int epochs, int[] seeds, bool augment)
    {
        foreach (var seed in seeds)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"efficientnet-gradcam-{size}-{Guid.NewGuid():N}");
            try
            {
                var ml = new MLContext(seed: seed);
                var train = ShapesAmongDistractors.Write(Path.Combine(folder, "train"), imagesPerClass: trainPerClass, size: size, seed: 21);
                var test = ShapesAmongDistractors.Write(Path.Combine(folder, "test"), imagesPerClass: testPerClass, size: size, seed: 22);
                var rows = ml.Data.LoadFromEnumerable(train.Select(p => new LabeledImage(p.ImagePath, p.Label)));
                var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(rows);
                using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
                {
                    ImageSize = size, Epochs = epochs, BatchSize = 16, LearningRate = 1e-3, Augment = augment, HorizontalFlip = augment, Seed = seed,
                }).Fit(prepare.Transform(rows));
                var defaultLayer = GradCam.DefaultLayer(classifier.Model.Architecture, size);
                Console.WriteLine($"b0 at {size} px, {trainPerClass} training images per class, {epochs} epochs, augment {augment}, seed {seed}; {test.Count} test images; default layer features[{defaultLayer}]");
                Console.WriteLine("| layer | map | accuracy | largest share | more than half | mean share |");
                Console.WriteLine("|---|---|---|---|---|---|");
                for (var layer = 3; layer < classifier.Model.Architecture.FeatureLayerCount; layer++)
                {
                    var (shares, largest, side) = (new List<double>(), 0, 0);
                    foreach (var placed in test)
                    {
                        using var explanation = classifier.Explain(File.ReadAllBytes(placed.ImagePath), layer: layer);
                        side = explanation.MapSide;
                        if (explanation.ClassName != placed.Label)
                            continue;
                        var masses = Enumerable.Range(0, 4).Select(q => explanation.MassWithin(q % 2 * 0.5, q / 2 * 0.5, q % 2 * 0.5 + 0.5, q / 2 * 0.5 + 0.5)).ToList();
                        shares.Add(masses[placed.Quadrant]);
                        largest += masses[placed.Quadrant] > 0 && masses[placed.Quadrant] == masses.Max() ? 1 : 0; // a flat map points nowhere
                    }
                    Console.WriteLine($"| features[{layer}]{(layer == defaultLayer ? " (default)" : "")} | {side} x {side} | {shares.Count / (double)test.Count:0.000} | " +
                                      $"{largest / (double)shares.Count:0.000} | {shares.Count(s => s > 0.5) / (double)shares.Count:0.000} | {shares.Average():0.000} |");
                }
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}

using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Training;

/// <summary>The training recipe's options together, through Fit: reproducible, resumable, and weighting the right rows.</summary>
[Collection(TrainingCollection.Name)]
public class TrainingRecipeTests(ShapesFixture shapes)
{
    /// <summary>A drawn image with an example weight.</summary>
    public sealed class WeightedImage
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
        public float Weight { get; set; }
    }

    // 96 training images, each weighed by a rule of its row and class.
    IDataView Weighted(Func<int, string, float> weight) => shapes.Prepare.Transform(shapes.MLContext.Data.LoadFromEnumerable(
        shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, false).Take(96)
            .Select((image, row) => new WeightedImage { ImagePath = image.ImagePath, Label = image.Label, Weight = weight(row, image.Label) }).ToList()));

    IDataView Validation => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TestSet, 48));

    static EfficientNetTrainer.Options EveryOption => ShapesFixture.Options(epochs: 3) with
    {
        Augment = true, AugmentationPolicy = AugmentationPolicy.TrivialAugmentWide, RandomErasingProbability = 0.25,
        Mixup = new Mixup(MixupAlpha: 0.2, CutMixAlpha: 1.0, OffEpoch: 3), ModelEma = new ModelEma(0.99),
        ClassWeights = new Dictionary<string, double> { ["circle"] = 2 }, ExampleWeightColumnName = "Weight",
        NormAndBiasWeightDecay = 0, LayerLearningRateDecay = 0.8,
    };

    EfficientNetTransformer Fit(EfficientNetTrainer.Options options, IDataView data) =>
        shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(options).Fit(data);

    List<float[]> Scores(EfficientNetTransformer model) => model.Transform(Validation).GetColumn<float[]>("Score").ToList();

    // Continued from the fixture's trained classifier: a few epochs from scratch leave a network whose probabilities are
    // the same for every image in evaluation mode, and comparing those could not fail.
    EfficientNetTransformer Continue(EfficientNetTrainer.Options options, IDataView data) =>
        shapes.MLContext.MulticlassClassification.Trainers.EfficientNet(options).Fit(data, shapes.Classifier);

    [Fact]
    public void With_every_recipe_option_on_the_same_seed_gives_the_same_model_and_a_run_interrupted_and_resumed_ends_like_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = Weighted((row, _) => 1 + row % 3);
        var options = EveryOption with { ValidationSet = Validation };
        using var first = Continue(options, data);
        using var second = Continue(options, data);

        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Continue(options with
        {
            CheckpointDirectory = folder.Path, CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 1) cancellation.Cancel(); },
        }, data));
        // The checkpoint holds the moving average beside the weights.
        Assert.Single(Directory.GetFiles(folder.Path, "*-epoch-0001.average.safetensors"));
        using var resumed = Continue(options with { CheckpointDirectory = folder.Path, ResumeFromCheckpoint = true }, data);

        var expected = Scores(first);
        Network.CalibratedNetwork.AssertInputDependent(expected, atLeast: 0.1f);
        Assert.Equal(expected, Scores(second));
        var resumedScores = Scores(resumed);
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], resumedScores[i], new ToleranceComparer(1e-6f));
        Assert.Equal(first.History.Select(h => h.TrainLoss), resumed.History.Select(h => h.TrainLoss));
        Assert.Equal(first.History.Select(h => h.ValidationLoss), resumed.History.Select(h => h.ValidationLoss));
        // The options do change training: without them the same seed ends elsewhere.
        using var plain = Continue(ShapesFixture.Options(epochs: 3) with { Augment = true, ValidationSet = Validation }, data);
        Assert.NotEqual(expected, Scores(plain));
    }

    [Fact]
    public void Example_weights_follow_their_rows_through_shuffling_and_mixing_as_class_weights_do()
    {
        var options = ShapesFixture.Options(epochs: 2) with { Augment = true, Mixup = new Mixup() };
        using var byRow = Fit(options with { ExampleWeightColumnName = "Weight" }, Weighted((_, label) => label == "circle" ? 3 : 1));
        using var byClass = Fit(options with { ClassWeights = new Dictionary<string, double> { ["circle"] = 3 } }, Weighted((_, _) => 1));
        using var unweighted = Fit(options, Weighted((_, _) => 1));

        Assert.Equal(Scores(byClass), Scores(byRow));
        Assert.NotEqual(Scores(unweighted), Scores(byRow));
    }

    [Fact]
    public void Bad_example_weights_are_refused_naming_the_row_the_column_or_the_type()
    {
        var options = ShapesFixture.Options(epochs: 1) with { ExampleWeightColumnName = "Weight" };

        var negative = Assert.Throws<DataRowException>(() => Fit(options, Weighted((row, _) => row == 5 ? -1 : 1)));
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(options with { ExampleWeightColumnName = "Importance" }, Weighted((_, _) => 1)));
        var asDouble = shapes.MLContext.Transforms.Conversion.ConvertType("Weight", outputKind: DataKind.Double).Fit(Weighted((_, _) => 1)).Transform(Weighted((_, _) => 1));
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(options, asDouble));

        Assert.Equal((5L, "Weight"), (negative.Row, negative.Column));
        Assert.Contains("example weight is -1", negative.Message);
        Assert.Contains("'Importance' is not in the training data", missing.Message);
        Assert.Contains("expected Single", wrongType.Message);
    }

    [Fact]
    public void Too_few_optimizer_steps_from_scratch_log_a_warning_that_says_what_to_do()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };

        using var model = ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(epochs: 1)).Fit(Weighted((_, _) => 1));

        var warning = Assert.Single(messages, m => m.Contains("optimizer steps"));
        Assert.Contains("Only 6 optimizer steps (96 images, batch 16, 1 epochs)", warning);
        Assert.Contains("PretrainedWeights", warning);
        Assert.Contains($"about {(EfficientNetTrainer.SmallDataSteps + 5) / 6} epochs", warning); // 2,000 steps, rounded up
    }

    [Fact]
    public void Recipe_options_are_validated_with_the_option_named()
    {
        var cases = new (EfficientNetTrainer.Options Options, string Name)[]
        {
            (new() { RandomErasingProbability = 1.5 }, "RandomErasingProbability"),
            (new() { AugmentationPolicy = AugmentationPolicy.RandAugment, Augment = false }, "Augment"),
            (new() { RandAugmentMagnitude = 31 }, "RandAugmentMagnitude"),
            (new() { Mixup = new Mixup(MixupAlpha: 0, CutMixAlpha: 0) }, "Mixup"),
            (new() { Mixup = new Mixup(Probability: 0) }, "Mixup.Probability"),
            (new() { ModelEma = new ModelEma(Decay: 1) }, "ModelEma.Decay"),
            (new() { BalanceClasses = true, ClassWeights = new Dictionary<string, double>() }, "BalanceClasses"),
            (new() { ClassWeights = new Dictionary<string, double> { ["a"] = -1 } }, "ClassWeights"),
            (new() { LayerLearningRateDecay = 0 }, "LayerLearningRateDecay"),
            (new() { NormAndBiasWeightDecay = double.NaN }, "NormAndBiasWeightDecay"),
        };
        foreach (var (options, name) in cases)
            Assert.Contains($"Options.{name} must be", Assert.Throws<ArgumentException>(() => options.Validate()).Message);
    }
}

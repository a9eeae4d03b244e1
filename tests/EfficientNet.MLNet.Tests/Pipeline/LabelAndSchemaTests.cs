using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>Labels and columns that cannot train a classifier: each a clear error naming the column and what was expected.</summary>
[Collection(TrainingCollection.Name)]
public class LabelAndSchemaTests(ShapesFixture shapes)
{
    MLContext ML => shapes.MLContext;

    List<LabeledImage> Rows(int perClass) =>
        ML.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(perClass)).ToList();

    IDataView Loaded(IEnumerable<LabeledImage> rows, IDataView? keysFrom = null)
    {
        var data = ML.Data.LoadFromEnumerable(rows);
        return ML.Transforms.Conversion.MapValueToKey("Label")
            .Append(ML.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(keysFrom ?? data).Transform(data);
    }

    [Fact]
    public void A_single_class_is_refused_naming_the_label_column()
    {
        var oneClass = Loaded(Rows(4).Select(r => new LabeledImage(r.ImagePath, "circle")));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(oneClass));

        Assert.Contains("The label column 'Label' has 1 class(es); a classifier needs at least 2", error.Message);
    }

    [Fact]
    public void A_missing_label_value_is_named_by_its_row()
    {
        var rows = Rows(2);
        var keysFrom = ML.Data.LoadFromEnumerable(rows);
        rows.Insert(5, new LabeledImage(rows[0].ImagePath, "")); // not among the keys: a missing key after MapValueToKey

        var error = Assert.Throws<DataRowException>(() => ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(Loaded(rows, keysFrom)));

        Assert.Contains("Row 5 of the column 'Label' in the training data: it has no value (a missing key)", error.Message);
        Assert.Equal((5L, "Label", "the training data"), (error.Row, error.Column, error.DataName));
    }

    [Fact]
    public void A_class_at_evaluation_that_training_never_saw_is_scored_and_counted_by_MLNet_as_a_missing_label()
    {
        var seen = Rows(4).Where(r => r.Label != "triangle").ToList();
        var evaluation = Rows(4);
        var keysFrom = ML.Data.LoadFromEnumerable(seen);
        using var classifier = ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(Loaded(seen));

        var scored = classifier.Transform(Loaded(evaluation, keysFrom));
        var metrics = ML.MulticlassClassification.Evaluate(scored);

        // Scores cover the trained classes only; the unseen class maps to the missing key, which ML.NET's evaluator skips.
        Assert.All(scored.GetColumn<float[]>("Score"), s => Assert.Equal(3, s.Length));
        Assert.Equal(seen.Count, (int)metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }

    [Fact]
    public void A_validation_set_whose_keys_are_in_another_order_is_refused_with_the_fix()
    {
        // MapValueToKey fitted on each set alone numbers the classes in the order it meets them: the same four
        // classes, another order, so key 1 means "circle" in one set and something else in the other.
        var train = Rows(4);
        var validation = Enumerable.Reverse(Rows(2)).ToList();
        var options = ShapesFixture.Options(1) with { ValidationSet = Loaded(validation) };

        var error = Assert.Throws<EfficientNetException>(() => ML.MulticlassClassification.Trainers.EfficientNet(options).Fit(Loaded(train)));

        Assert.Contains("classes in another order", error.Message);
        Assert.Contains($"training data: {string.Join(", ", train.Select(r => r.Label).Distinct())}", error.Message);
        Assert.Contains($"validation data: {string.Join(", ", validation.Select(r => r.Label).Distinct())}", error.Message);
        Assert.Contains("MapValueToKey", error.Message);
    }

    [Fact]
    public void A_float_vector_that_is_not_3_x_H_x_W_pixels_is_refused_naming_the_column()
    {
        var rows = Enumerable.Range(0, 4).Select(i => new VectorRow { Image = new float[10], Label = i % 2 == 0 ? "a" : "b" });
        var data = ML.Transforms.Conversion.MapValueToKey("Label").Fit(ML.Data.LoadFromEnumerable(rows)).Transform(ML.Data.LoadFromEnumerable(rows));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(data));

        Assert.Contains("The image column 'Image' holds 10 floats: expected 3 x H x W (planar red, green and blue)", error.Message);
    }

    [Fact]
    public void Non_square_pixel_vectors_are_read_with_their_dimensions()
    {
        var rows = Rows(2);
        var pixels = ML.Transforms.Conversion.MapValueToKey("Label")
            .Append(ML.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath)))
            .Append(ML.Transforms.ResizeImages("Loaded", 48, 32))
            .Append(ML.Transforms.ExtractPixels("Image", "Loaded"))
            .Fit(ML.Data.LoadFromEnumerable(rows)).Transform(ML.Data.LoadFromEnumerable(rows));

        using var classifier = ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(pixels);

        Assert.Equal(rows.Count, classifier.Transform(pixels).GetColumn<float[]>("Score").Count());
    }

    sealed class VectorRow
    {
        [VectorType(10)] public float[] Image { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }
}

using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>The multi-label trainer takes label sets as users have them: "a;b" text, a vector of text, a vector of keys.</summary>
[Collection(Pipeline.TrainingCollection.Name)]
public class LabelColumnFormsTests
{
    // Drawn scenes at 32 px, and the transformer that loads their images.
    static (IReadOnlyList<LabeledImage> Scenes, MLContext ML, ITransformer Images) Scenes(FixturePaths.TemporaryFolder folder, int count, int seed)
    {
        var scenes = ShapeScenes.Write(folder.Path, count, size: 32, seed);
        var ml = new MLContext(seed: 1);
        return (scenes, ml, ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)).Fit(ml.Data.LoadFromEnumerable(scenes)));
    }

    static EfficientNetTrainer.Options OneEpoch(int batchSize) => new() { ImageSize = 32, Epochs = 1, BatchSize = batchSize, Seed = 1 };

    [Fact]
    public void The_trainer_reads_label_sets_as_separated_text_text_vectors_or_key_vectors_alike()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var scenes = ShapeScenes.Write(folder.Path, count: 24, size: 32, seed: 4);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(scenes);
        var images = ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath));
        var tokens = ml.Transforms.Text.TokenizeIntoWords("Tokens", nameof(LabeledImage.Label), separators: [ShapeScenes.Separator]);
        var options = new EfficientNetTrainer.Options { ImageSize = 32, Epochs = 1, BatchSize = 8, Seed = 1, ValidationFraction = 0.25 };

        EfficientNetTransformer Fit(IEstimator<ITransformer> prepare, string column)
        {
            var prepared = prepare.Fit(data).Transform(data);
            return ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options with { LabelColumnName = column }).Fit(prepared);
        }

        using var text = Fit(images, nameof(LabeledImage.Label));
        using var textVector = Fit(images.Append(tokens), "Tokens");
        using var keyVector = Fit(images.Append(tokens).Append(ml.Transforms.Conversion.MapValueToKey("Keys", "Tokens")), "Keys");

        // Text: the labels in ordinal order; keys: in key order (MapValueToKey's, by first occurrence), same labels.
        Assert.Equal(ShapeScenes.Labels.Order(StringComparer.Ordinal), text.ClassNames);
        Assert.Equal(text.ClassNames, textVector.ClassNames);
        Assert.Equal(text.ClassNames, keyVector.ClassNames.Order(StringComparer.Ordinal));
        Assert.All(new[] { text, textVector, keyVector }, model => Assert.Equal((TaskKind.MultiLabel, 4), (model.Task, model.Thresholds!.Count)));
        // Trained alike (the same seed, the same rows): the same loss, whatever form the labels came in.
        Assert.Equal(text.History[0].TrainLoss, textVector.History[0].TrainLoss, 5);

        // A multiclass trainer on a label set says what to use instead; a multi-label one on a scalar key says what it expects.
        var keyed = ml.Transforms.Conversion.MapValueToKey("Key", nameof(LabeledImage.Label)).Append(images).Fit(data).Transform(data);
        var multiclass = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.EfficientNet(options with { LabelColumnName = "Label" }).Fit(images.Fit(data).Transform(data)));
        var multiLabel = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options with { LabelColumnName = "Key" }).Fit(keyed));
        Assert.Contains("expected a key type", multiclass.Message);
        Assert.Contains("expected text with the labels separated by ';'", multiLabel.Message);
    }

    [Fact]
    public void A_validation_label_the_training_data_does_not_have_is_refused_with_its_row()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var (scenes, ml, images) = Scenes(folder, count: 12, seed: 5);
        var validation = scenes.Take(3).Select((s, i) => new LabeledImage(s.ImagePath, i == 2 ? "circle;hexagon" : s.Label)).ToList();
        var options = OneEpoch(batchSize: 4) with { ValidationSet = images.Transform(ml.Data.LoadFromEnumerable(validation)) };

        var error = Assert.Throws<DataRowException>(() => ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options).Fit(images.Transform(ml.Data.LoadFromEnumerable(scenes))));

        Assert.Equal((2L, "Label", "the validation data"), (error.Row, error.Column, error.DataName));
        Assert.Contains("'hexagon'", error.Message);
    }

    [Fact]
    public void A_label_only_the_validation_rows_have_is_one_of_the_models_when_the_options_name_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var (scenes, ml, images) = Scenes(folder, count: 40, seed: 6);
        // "cross" only in the validation rows, as a rare label can fall when the data is split.
        var train = scenes.Where(s => !s.Label.Contains("cross")).ToList();
        var validation = scenes.Where(s => s.Label.Contains("cross")).Take(6).ToList();
        var options = OneEpoch(batchSize: 8) with { ValidationSet = images.Transform(ml.Data.LoadFromEnumerable(validation)) };

        var named = ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options with { MultiLabel = new MultiLabelOptions { Labels = ShapeScenes.Labels.ToList() } })
            .Fit(images.Transform(ml.Data.LoadFromEnumerable(train)));
        var unnamed = Assert.Throws<DataRowException>(() =>
            ml.MulticlassClassification.Trainers.EfficientNetMultiLabel(options).Fit(images.Transform(ml.Data.LoadFromEnumerable(train))));

        using (named)
            Assert.Equal(ShapeScenes.Labels, named.ClassNames);
        Assert.Equal("the validation data", unnamed.DataName);
        Assert.Contains("'cross'", unnamed.Message);
        Assert.Throws<ArgumentException>(() => new EfficientNetTrainer.Options { MultiLabel = new MultiLabelOptions { Labels = ["a", "a"] } }.Validate());
    }
}

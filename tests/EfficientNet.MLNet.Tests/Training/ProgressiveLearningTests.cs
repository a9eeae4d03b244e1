using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp.Modules;

namespace EfficientNet.MLNet.Tests.Training;

[Collection(TrainingCollection.Name)]
public class ProgressiveLearningTests(ShapesFixture shapes)
{
    [Fact]
    public void Stages_split_the_epochs_evenly_and_grow_size_dropout_and_crop_strength_linearly_to_the_final_values()
    {
        var progressive = new ProgressiveLearning(StartImageSize: 32, Stages: 4, StartDropoutRate: 0.1, StartRandomCropMinimumScale: 0.9);

        var stages = Enumerable.Range(1, 8).Select(epoch => ProgressiveStage.Of(progressive, epoch, 8, 64, 0.3, 0.5)).ToList();

        // Sizes 32, 32 + 32/3, 32 + 64/3 rounded to multiples of 8, then the final 64; two epochs each.
        Assert.Equal(new[] { 32, 32, 40, 40, 56, 56, 64, 64 }, stages.Select(s => s.ImageSize));
        Assert.Equal(new[] { 0.1, 0.1, 0.1667, 0.1667, 0.2333, 0.2333, 0.3, 0.3 }, stages.Select(s => Math.Round(s.DropoutRate, 4)));
        Assert.Equal(new[] { 0.9, 0.9, 0.7667, 0.7667, 0.6333, 0.6333, 0.5, 0.5 }, stages.Select(s => Math.Round(s.RandomCropMinimumScale, 4)));
        Assert.Equal(new ProgressiveStage(64, 0.3, 0.5), ProgressiveStage.Of(null, 1, 8, 64, 0.3, 0.5));
        // Epochs that do not divide evenly: the first stage takes the extra one.
        Assert.Equal(new[] { 32, 32, 40, 56, 64 }, Enumerable.Range(1, 5).Select(e => ProgressiveStage.Of(progressive, e, 5, 64, 0.3, 0.5).ImageSize));
    }

    [Fact]
    public void Fit_trains_each_stage_at_its_size_says_so_and_ends_with_the_configured_dropout()
    {
        var log = new List<string>();
        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) => { if (e.Source.Contains("EfficientNet", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var train = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 64));
        var options = ShapesFixture.Options(epochs: 4) with { ProgressiveLearning = new ProgressiveLearning(StartImageSize: 32, Stages: 4) };

        using var classifier = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(train);

        Assert.Equal(new int?[] { 32, 40, 40, 48 }, classifier.History.Select(m => m.TrainImageSize));
        Assert.Equal(0.2, classifier.Model.modules().OfType<Dropout>().Single().p);
        Assert.Contains(log, m => m.Contains("Progressive learning: epochs 1-1 at 32 px, dropout 0.10, crop scale from 0.90", StringComparison.Ordinal));
        var scores = classifier.Transform(train).GetColumn<float[]>("Score").First();
        Assert.Equal(1f, scores.Sum(), 1e-4f);
    }

    [Theory]
    [InlineData(64, 4, "ProgressiveLearning.StartImageSize")]
    [InlineData(32, 5, "ProgressiveLearning.Stages")]
    public void Impossible_stages_are_refused_naming_the_option(int start, int stages, string option)
    {
        var options = ShapesFixture.Options(epochs: 4) with { ProgressiveLearning = new ProgressiveLearning(start, stages) };

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains(option, error.Message);
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

[Collection(TrainingCollection.Name)]
public class ResourceTests(ShapesFixture shapes)
{
    [Fact]
    public void Training_scoring_and_disposing_models_in_a_loop_keeps_resident_memory_flat()
    {
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 64));
        void TrainScoreDispose()
        {
            using var classifier = new MLContext(seed: 1).MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(epochs: 1)).Fit(data);
            Assert.Equal(64, classifier.Transform(data).GetColumn<float[]>("Score").Count());
        }
        TrainScoreDispose(); // warm-up: libtorch, oneDNN and the allocator reach their working size
        var before = ProcessMemory.ResidentBytes();

        for (var i = 0; i < 4; i++)
            TrainScoreDispose();
        var after = ProcessMemory.ResidentBytes();

        // One b0 with its AdamW state and activations is about 100 MB at this size: four leaked models would show.
        Assert.True(after - before < 60L << 20, $"resident memory grew by {(after - before) >> 20} MB over 4 models (from {before >> 20} MB)");
    }
}

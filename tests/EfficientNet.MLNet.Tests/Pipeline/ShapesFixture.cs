using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>Trainer tests share one drawn dataset and one trained pipeline, and run alone (see the collection).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingCollection : ICollectionFixture<ShapesFixture>
{
    public const string Name = "Training (sequential: seeds and both cores)";
}

/// <summary>
/// 120 drawn images per class at 48x48 (PNG and JPEG), split 80/20, and EfficientNet-B0 trained on them at 48x48
/// through LoadImages, validated on the held-out 20% after every epoch.
/// </summary>
public sealed class ShapesFixture : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();

    public ShapesFixture()
    {
        Images = SyntheticShapes.Write(folder.File("shapes"), imagesPerClass: 120, size: 48, seed: 7);
        MLContext = new MLContext(seed: 1);
        var split = MLContext.Data.TrainTestSplit(MLContext.Data.LoadFromEnumerable(Images), testFraction: 0.2, seed: 1);
        TrainSet = split.TrainSet;
        TestSet = split.TestSet;
        Prepare = MLContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(MLContext.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(TrainSet);
        var trainer = MLContext.MulticlassClassification.Trainers.EfficientNet(Options(epochs: 15) with { ValidationSet = Prepare.Transform(TestSet) });
        Model = Prepare.Append(trainer.Fit(Prepare.Transform(TrainSet)));
    }

    public IReadOnlyList<LabeledImage> Images { get; }
    public MLContext MLContext { get; }
    public IDataView TrainSet { get; }
    public IDataView TestSet { get; }
    public ITransformer Prepare { get; }
    public TransformerChain<EfficientNetTransformer> Model { get; }
    public EfficientNetTransformer Classifier => Model.LastTransformer;
    public string Folder => folder.Path;

    /// <summary>The settings that learn this dataset quickly on a CPU.</summary>
    public static EfficientNetTrainer.Options Options(int epochs) => new()
    {
        ImageSize = 48, Epochs = epochs, BatchSize = 16, LearningRate = 1e-3, Augment = false, Seed = 1,
    };

    public void Dispose()
    {
        Classifier.Dispose();
        folder.Dispose();
    }
}

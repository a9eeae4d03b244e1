using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// The code Model Builder generates for image classification, with ImageClassification replaced by EfficientNet and
/// nothing else changed: ModelInput with byte[] ImageSource, ModelOutput, the pipeline, Save, a PredictionEngine in a
/// fresh context and the labels of Score read from the Label column's key values (its PredictAllLabels).
/// </summary>
[Collection(TrainingCollection.Name)]
public class ModelBuilderCodeTests
{
    // Model Builder's ModelInput and ModelOutput, as generated.
    public class ModelInput
    {
        [LoadColumn(0)]
        [ColumnName(@"Label")]
        public string Label { get; set; } = "";

        [LoadColumn(1)]
        [ColumnName(@"ImageSource")]
        public byte[] ImageSource { get; set; } = Array.Empty<byte>();
    }

    public class ModelOutput
    {
        [ColumnName(@"Label")]
        public uint Label { get; set; }

        [ColumnName(@"ImageSource")]
        public byte[] ImageSource { get; set; } = Array.Empty<byte>();

        [ColumnName(@"PredictedLabel")]
        public string PredictedLabel { get; set; } = "";

        [ColumnName(@"Score")]
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    // Model Builder's BuildPipeline, with the trainer's name changed and its options written out: the generated three
    // columns, and what keeps the test fast and its result clear of chance on any CPU (48 px, a few epochs, no random
    // crops: they cut the small shapes apart, and with them 10 epochs reached only 0.44 to 0.54 accuracy, where
    // chance is 0.25 and the float rounding of another CPU moves the result by more than the margin).
    static IEstimator<ITransformer> BuildPipeline(MLContext mlContext, int epochs = 10) =>
        mlContext.Transforms.Conversion.MapValueToKey(outputColumnName: @"Label", inputColumnName: @"Label", addKeyValueAnnotationsAsText: false)
            .Append(mlContext.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
            {
                LabelColumnName = @"Label", ScoreColumnName = @"Score", FeatureColumnName = @"ImageSource",
                ImageSize = 48, Epochs = epochs, BatchSize = 8, Augment = false,
            }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue(outputColumnName: @"PredictedLabel", inputColumnName: @"PredictedLabel"));

    // The generated line itself, exactly, must compile and accept the generated input.
    static IEstimator<ITransformer> GeneratedPipeline(MLContext mlContext) =>
        mlContext.Transforms.Conversion.MapValueToKey(outputColumnName: @"Label", inputColumnName: @"Label", addKeyValueAnnotationsAsText: false)
            .Append(mlContext.MulticlassClassification.Trainers.EfficientNet(labelColumnName: @"Label", scoreColumnName: @"Score", featureColumnName: @"ImageSource"))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue(outputColumnName: @"PredictedLabel", inputColumnName: @"PredictedLabel"));

    // Model Builder's LoadImageFromFolder: the bytes of each file, labelled by its folder.
    static List<ModelInput> LoadImagesFromFolder(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(path => new ModelInput { Label = Path.GetFileName(Path.GetDirectoryName(path))!, ImageSource = File.ReadAllBytes(path) })
            .ToList();

    // Model Builder's PredictAllLabels: the scores sorted, named by the Label column's key values.
    static IOrderedEnumerable<KeyValuePair<string, float>> PredictAllLabels(PredictionEngine<ModelInput, ModelOutput> engine, ModelInput input)
    {
        var result = engine.Predict(input);
        var keyNames = new VBuffer<ReadOnlyMemory<char>>();
        engine.OutputSchema.GetColumnOrNull("Label")!.Value.GetKeyValues(ref keyNames);
        var labels = keyNames.DenseValues().Select(k => k.ToString()).ToArray();
        return labels.Zip(result.Score, (label, score) => new KeyValuePair<string, float>(label, score)).OrderByDescending(p => p.Value);
    }

    [Fact]
    public void The_generated_pipeline_line_compiles_and_accepts_model_builders_input()
    {
        var mlContext = new MLContext();
        var input = mlContext.Data.LoadFromEnumerable(Array.Empty<ModelInput>());

        var output = GeneratedPipeline(mlContext).GetOutputSchema(MLNetInternals.MLNetEnvironment.Shape(input.Schema));

        var score = output.Single(c => c.Name == "Score");
        var predicted = output.Single(c => c.Name == "PredictedLabel");
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, score.Kind);
        Assert.Equal(TextDataViewType.Instance, predicted.ItemType);
    }

    [Fact]
    public void Model_builders_code_trains_saves_and_predicts_all_labels_in_a_fresh_context()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var images = folder.File("images");
        SyntheticShapes.Write(images, imagesPerClass: 60, size: 48, seed: 11);
        var test = folder.File("test");
        SyntheticShapes.Write(test, imagesPerClass: 20, size: 48, seed: 12);
        var modelPath = folder.File("MLModel.mlnet");

        // Training, as Model Builder's Training.cs does it.
        var mlContext = new MLContext(seed: 1);
        var trainingData = mlContext.Data.LoadFromEnumerable(LoadImagesFromFolder(images));
        var model = BuildPipeline(mlContext).Fit(trainingData);
        mlContext.Model.Save(model, trainingData.Schema, modelPath);

        // Consumption, as Model Builder's Consumption.cs does it: a fresh context and a prediction engine.
        var consumer = new MLContext();
        var loaded = consumer.Model.Load(modelPath, out _);
        var engine = consumer.Model.CreatePredictionEngine<ModelInput, ModelOutput>(loaded);
        var testRows = LoadImagesFromFolder(test);
        var correct = 0;
        foreach (var row in testRows)
        {
            var all = PredictAllLabels(engine, new ModelInput { ImageSource = row.ImageSource }).ToList();
            var output = engine.Predict(new ModelInput { ImageSource = row.ImageSource });
            Assert.Equal(SyntheticShapes.Classes.Order(), all.Select(p => p.Key).Order());
            Assert.Equal(all[0].Key, output.PredictedLabel);
            Assert.Equal(1f, all.Sum(p => p.Value), 3);
            correct += output.PredictedLabel == row.Label ? 1 : 0;
        }
        var accuracy = (double)correct / testRows.Count;
        // Chance is 0.25; a mix-up of keys, labels and scores would score about that (0.775 measured on 80 images).
        Assert.True(accuracy >= 0.5, $"accuracy {accuracy:0.000} on {testRows.Count} held-out images");

        // Evaluate, as Model Builder's evaluation does: the saved pipeline's Label keys and Score.
        var metrics = consumer.MulticlassClassification.Evaluate(loaded.Transform(consumer.Data.LoadFromEnumerable(testRows)), labelColumnName: "Label");
        Assert.Equal(accuracy, metrics.MicroAccuracy, 6);
    }

    [Fact]
    public void CrossValidate_runs_the_generated_pipeline_on_every_fold()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var images = folder.File("images");
        SyntheticShapes.Write(images, imagesPerClass: 15, size: 48, seed: 13);
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(LoadImagesFromFolder(images));

        var folds = mlContext.MulticlassClassification.CrossValidate(data, BuildPipeline(mlContext, epochs: 3), numberOfFolds: 3, labelColumnName: "Label");

        Assert.Equal(3, folds.Count);
        foreach (var fold in folds)
        {
            Assert.False(double.IsNaN(fold.Metrics.LogLoss), $"fold {fold.Fold}: log loss NaN");
            Assert.Equal(SyntheticShapes.Classes.Count, fold.Metrics.PerClassLogLoss.Count);
        }
        // Each fold's model is the whole chain, with the EfficientNet classifier of that fold's classes.
        Assert.All(folds, fold => Assert.Equal(SyntheticShapes.Classes.Order(),
            ((IEnumerable<ITransformer>)fold.Model).OfType<EfficientNetTransformer>().Single().ClassNames.Order()));
    }
}

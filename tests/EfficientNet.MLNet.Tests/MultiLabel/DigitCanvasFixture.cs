using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>
/// A real multi-label task, trained once: canvases of two or three of scikit-learn's handwritten digits
/// (<see cref="DigitCanvases"/>), read from CSVs of image paths and "3;7;9" labels as a user's data is, and a multi-label
/// EfficientNet-B0 trained from scratch on them at 64 px (about 70 s on 2 cores), thresholds chosen on the validation
/// canvases, and the pipeline (LoadImages, the classifier, MapKeyToValue) saved as a zip. With the multi-label defaults
/// (no random crop: it can cut a labelled digit off its canvas; docs/TRAINING.md measures it).
/// </summary>
public sealed class DigitCanvasFixture : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();

    public DigitCanvasFixture()
    {
        (Train, Validation, Test) = DigitCanvases.Write(folder.File("canvases"), cell: 32, counts: (Train: 640, Validation: 160, Test: 200), seed: 3);
        MLContext = new MLContext(seed: 1);
        LoadImages = MLContext.Transforms.LoadImages("Image", "", "ImagePath").Fit(Csv(Train.Csv));
        var trainer = MLContext.MulticlassClassification.Trainers.EfficientNetMultiLabel(Options with { ValidationSet = LoadImages.Transform(Csv(Validation.Csv)) });
        Classifier = trainer.Fit(LoadImages.Transform(Csv(Train.Csv)));
        // The pipeline as a user saves it: images, the classifier, the predicted keys back to label names.
        var scored = Classifier.Transform(LoadImages.Transform(Csv(Test.Csv)));
        Pipeline = LoadImages.Append<ITransformer>(Classifier).Append(MLContext.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scored));
        Zip = folder.File("multilabel.zip");
        MLContext.Model.Save(Pipeline, Csv(Train.Csv).Schema, Zip);
    }

    /// <summary>The settings of the test's model.</summary>
    public static EfficientNetTrainer.Options Options => new()
    {
        LabelColumnName = "Labels", ImageSize = 64, Epochs = 12, BatchSize = 16, Seed = 1,
    };

    public MLContext MLContext { get; }
    public ITransformer Pipeline { get; }
    public string Zip { get; }
    internal DigitCanvases.Split Train { get; }
    internal DigitCanvases.Split Validation { get; }
    internal DigitCanvases.Split Test { get; }
    public ITransformer LoadImages { get; }
    public EfficientNetTransformer Classifier { get; }
    public string Folder => folder.Path;

    /// <summary>A split's CSV as ML.NET reads it: ImagePath and Labels, text.</summary>
    public IDataView Csv(string path) => MLContext.Data.LoadFromTextFile(path, new[]
    {
        new TextLoader.Column("ImagePath", DataKind.String, 0),
        new TextLoader.Column("Labels", DataKind.String, 1),
    }, separatorChar: ',', hasHeader: true);

    public void Dispose()
    {
        Classifier.Dispose();
        folder.Dispose();
    }
}

using EfficientNet.MLNet.Datasets;
using Microsoft.ML;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// One bad file among good images, read both ways a pipeline can: ML.NET's LoadImages (MLImage) and
/// LoadRawImageBytes (encoded bytes, as Model Builder does). Fit stops with the bad row named, before training.
/// </summary>
[Collection(TrainingCollection.Name)]
public class BadImageFileTests(ShapesFixture shapes)
{
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "LoadImages", "missing", "Could not find file '{0}'" },
        { "LoadImages", "zero bytes", "LoadImages could not decode the file: it is empty, damaged or not an image" },
        { "LoadImages", "text named .jpg", "LoadImages could not decode the file: it is empty, damaged or not an image" },
        // LoadImages with a truncated file: ML.NET's decoder (SkiaSharp) fills the missing part and reports nothing,
        // so there is no error to give; docs/RELIABILITY.md says so, and LoadRawImageBytes below refuses it.
        { "LoadRawImageBytes", "missing", "Could not find file '{0}'" },
        { "LoadRawImageBytes", "zero bytes", "the image is empty (0 bytes)" },
        { "LoadRawImageBytes", "text named .jpg", "the 26 bytes are not a PNG, JPEG, BMP, GIF or WebP image" },
        { "LoadRawImageBytes", "truncated.png", "the 64x64 image is truncated or damaged" },
        { "LoadRawImageBytes", "truncated.jpg", "the 64x64 image is truncated or damaged" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_file_stops_fit_naming_its_row_before_training(string loader, string kind, string expected)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bad = kind switch
        {
            "missing" => folder.File("missing.png"),
            "zero bytes" => folder.File("empty.png"),
            "text named .jpg" => folder.File("notes.jpg"),
            _ => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", kind),
        };
        if (kind == "zero bytes") File.WriteAllBytes(bad, Array.Empty<byte>());
        if (kind == "text named .jpg") File.WriteAllText(bad, "meeting notes, not a photo");
        var ml = shapes.MLContext;
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TrainSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(2)).ToList();
        rows.Insert(3, new LabeledImage(bad, rows[0].Label));
        var data = ml.Data.LoadFromEnumerable(rows);
        var read = ml.Transforms.Conversion.MapValueToKey("Label").Append(loader == "LoadImages"
            ? (IEstimator<ITransformer>)ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))
            : ml.Transforms.LoadRawImageBytes("Image", "", nameof(LabeledImage.ImagePath)));
        var epochs = 0;

        var error = Assert.Throws<ImageRowException>(() => ml.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { EpochCompleted = _ => epochs++ })
            .Fit(read.Fit(data).Transform(data)));

        Assert.Equal(0, epochs);
        // ML.NET reads raw bytes on parallel workers ahead of the rows handed out: a missing file is named, its row is not known.
        var row = loader == "LoadRawImageBytes" && kind == "missing" ? -1L : 3L;
        Assert.Equal((row, "Image", "the training data"), (error.Row, error.Column, error.DataName));
        Assert.Contains(string.Format(expected, bad), error.Message);
    }
}

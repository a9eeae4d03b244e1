using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Float pixel vectors from ExtractPixels: the layouts and value ranges the model can use are read correctly, and
/// the ones it cannot (offset, scaled) are refused with the row, the column and the ExtractPixels setting to change,
/// instead of being trained on as garbage.
/// </summary>
[Collection(TrainingCollection.Name)]
public class PixelInputTests(ShapesFixture shapes)
{
    MLContext ML => shapes.MLContext;

    // Two images of each class, so that the trainer sees four classes.
    IDataView Rows(int count) => ML.Data.LoadFromEnumerable(
        ML.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(2)).Take(count).ToList());

    // ExtractPixels needs images of a known size: ResizeImages to their own 48x48 hands the loaded image on unchanged.
    IDataView Pixels(IDataView rows, bool interleave = false, float offset = 0, float scale = 1) =>
        ML.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ML.Transforms.ResizeImages("Loaded", 48, 48))
            .Append(ML.Transforms.ExtractPixels("Image", "Loaded", interleavePixelColors: interleave, offsetImage: offset, scaleImage: scale))
            .Append(ML.Transforms.Conversion.MapValueToKey("Label"))
            .Fit(rows).Transform(rows);

    List<float[]> Scores(IDataView data) => shapes.Classifier.Transform(data).GetColumn<float[]>("Score").ToList();

    [Fact]
    public void Planar_pixels_of_the_same_images_score_exactly_like_the_loaded_images()
    {
        // The images are 48x48 already: ResizeImages passes them on and ExtractPixels copies their bytes as floats,
        // so the network sees the same input both ways and the scores agree to float rounding.
        var rows = Rows(8);
        var fromImages = shapes.Model.Transform(rows).GetColumn<float[]>("Score").ToList();

        var fromPixels = Scores(Pixels(rows));

        for (var i = 0; i < fromImages.Count; i++)
            Assert.Equal(fromImages[i], fromPixels[i], new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Interleaved_pixels_are_read_in_their_layout_and_score_like_planar_ones()
    {
        var rows = Rows(8);
        var planar = Scores(Pixels(rows));

        var interleaved = Scores(Pixels(rows, interleave: true));

        for (var i = 0; i < planar.Count; i++)
            Assert.Equal(planar[i], interleaved[i], new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Offset_pixels_are_refused_naming_the_row_the_column_and_the_setting()
    {
        var data = Pixels(Rows(8), offset: 117);

        var scoring = Assert.Throws<DataRowException>(() => Scores(data));
        var training = Assert.Throws<DataRowException>(() =>
            ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1) with { SkipUnreadableImages = true }).Fit(data));

        foreach (var error in new[] { scoring, training })
        {
            Assert.Equal(0, error.Row);
            Assert.Equal("Image", error.Column);
            Assert.Contains("Row 0 of the column 'Image'", error.Message);
            Assert.Contains("outside 0..255", error.Message);
            Assert.Contains("offsetImage", error.Message);
        }
        Assert.Contains("in the training data", training.Message);
    }

    [Fact]
    public void Pixels_scaled_to_0_1_are_refused_naming_scaleImage()
    {
        var data = Pixels(Rows(8), scale: 1 / 255f);

        var error = Assert.Throws<DataRowException>(() =>
            ML.MulticlassClassification.Trainers.EfficientNet(ShapesFixture.Options(1)).Fit(data));

        Assert.Contains("Row 0 of the column 'Image' in the training data", error.Message);
        Assert.Contains("0..1", error.Message);
        Assert.Contains("scaleImage", error.Message);
    }

    [Fact]
    public void Pixels_with_an_alpha_plane_are_refused_naming_colorsToExtract()
    {
        var rows = Rows(4);
        var data = ML.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ML.Transforms.ResizeImages("Loaded", 48, 48))
            .Append(ML.Transforms.ExtractPixels("Image", "Loaded", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb | ImagePixelExtractingEstimator.ColorBits.Alpha))
            .Append(ML.Transforms.Conversion.MapValueToKey("Label"))
            .Fit(rows).Transform(rows);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Scores(data));

        Assert.Contains("image column 'Image'", error.Message);
        Assert.Contains("4 x 48 x 48", error.Message);
        Assert.Contains("colorsToExtract", error.Message);
    }
}

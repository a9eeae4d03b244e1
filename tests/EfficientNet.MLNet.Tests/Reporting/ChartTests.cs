using EfficientNet.MLNet.Reporting;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Reporting;

public class ChartTests
{
    static readonly SKColor Blue = new(31, 119, 180), Orange = new(255, 127, 14);

    static List<EpochMetrics> History(bool withValidation) => Enumerable.Range(1, 6)
        .Select(e => new EpochMetrics(e, 1.5 / e, 0.5 + e * 0.07, withValidation ? 1.4 / e : null, withValidation ? 0.45 + e * 0.07 : null, 1e-3, 100, TimeSpan.FromSeconds(e)))
        .ToList();

    static int Count(SKBitmap bitmap, SKColor color) =>
        Enumerable.Range(0, bitmap.Width).Sum(x => Enumerable.Range(0, bitmap.Height).Count(y => bitmap.GetPixel(x, y) == color));

    [Fact]
    public void Training_curves_draw_both_series_on_a_readable_canvas()
    {
        using var bitmap = SKBitmap.Decode(TrainingCurvesChart.Png(History(withValidation: true)));

        Assert.Equal((1100, 460), (bitmap.Width, bitmap.Height));
        Assert.True(Count(bitmap, Blue) > 500, "train series drawn");
        Assert.True(Count(bitmap, Orange) > 500, "validation series drawn");
    }

    [Fact]
    public void Without_validation_only_the_training_series_is_drawn()
    {
        using var bitmap = SKBitmap.Decode(TrainingCurvesChart.Png(History(withValidation: false)));

        Assert.True(Count(bitmap, Blue) > 500);
        Assert.Equal(0, Count(bitmap, Orange));
    }

    [Fact]
    public void Confusion_matrix_shades_each_row_by_its_share_and_writes_the_file_whole()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var path = folder.File("confusion.png");
        var counts = new[] { new double[] { 9, 1 }, new double[] { 0, 10 } };

        ConfusionMatrixChart.Save(new[] { "cat", "dog" }, counts, path);

        using var bitmap = SKBitmap.Decode(path);
        Assert.True(bitmap.Width >= 360 && bitmap.Height > 200);
        Assert.Single(Directory.GetFiles(folder.Path));
        // The fully recalled class's diagonal cell is the deepest blue.
        Assert.Contains(Enumerable.Range(0, bitmap.Width).SelectMany(x => Enumerable.Range(0, bitmap.Height).Select(y => bitmap.GetPixel(x, y))), c => c == new SKColor(8, 48, 107));
    }

    [Fact]
    public void A_matrix_that_does_not_match_the_class_names_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Png(new[] { "a", "b", "c" }, new[] { new double[] { 1, 2 }, new double[] { 3, 4 } }));

        Assert.Contains("3 x 3", error.Message);
    }
}

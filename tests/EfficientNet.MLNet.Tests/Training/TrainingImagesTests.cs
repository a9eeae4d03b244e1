using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Training;

public class TrainingImagesTests
{
    const int Size = 4;

    /// <summary>n rows of 4x4 images whose pixels all equal the row number (mod 256), labels alternating a/b.</summary>
    static IDataView Rows(int n)
    {
        var ml = new MLContext();
        var rows = Enumerable.Range(0, n).Select(i => new PixelRow
        {
            Image = Enumerable.Repeat((float)(i % 256), 3 * Size * Size).ToArray(),
            Label = i % 2 == 0 ? "a" : "b",
        });
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
    }

    [Fact]
    public void Within_the_budget_images_are_decoded_once_and_kept()
    {
        var images = TrainingImages.Create(Rows(50), "the data", "Image", "Label", Size, _ => true, cacheBudgetBytes: 50 * 48, () => { });

        Assert.IsType<CachedTrainingImages>(images);
        Assert.Equal(50, images.Count);
        Assert.Equal(50 * 3 * Size * Size, images.CachedBytes);
        Assert.Equal(Enumerable.Range(0, 50), images.InOrder(16).SelectMany(b => b.Images).Select(i => (int)i[0]));
    }

    [Fact]
    public void Over_the_budget_each_epoch_streams_every_row_once_in_a_shuffled_order()
    {
        const int n = 1000;
        var images = TrainingImages.Create(Rows(n), "the data", "Image", "Label", Size, _ => true, cacheBudgetBytes: n * 48 - 1, () => { });

        var epoch = images.Shuffled(8, new Random(1)).ToList();
        var order = epoch.SelectMany(b => b.Images).Select(i => (int)i[0]).ToList();
        var labels = epoch.SelectMany(b => b.Labels).ToList();

        Assert.IsType<StreamedTrainingImages>(images);
        Assert.Equal(0, images.CachedBytes);
        Assert.Equal(n, images.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(i => i % 256).Order(), order.Order());
        Assert.Equal(n / 2, labels.Count(l => l == 0));
        Assert.NotEqual(Enumerable.Range(0, n).Select(i => i % 256), order);
        Assert.All(epoch.Take(epoch.Count - 1), b => Assert.Equal(8, b.Images.Count));
    }

    [Fact]
    public void The_filter_keeps_only_the_selected_rows()
    {
        var images = TrainingImages.Create(Rows(20), "the data", "Image", "Label", Size, row => row % 4 == 0, long.MaxValue, () => { });

        Assert.Equal(new[] { 0, 4, 8, 12, 16 }, images.InOrder(3).SelectMany(b => b.Images).Select(i => (int)i[0]));
    }

    [Fact]
    public void Hold_out_is_seeded_and_close_to_its_fraction()
    {
        var holdOut = new HoldOut(0.2, Seed: 3);

        var held = Enumerable.Range(0, 20_000).Count(i => holdOut.IsValidation(i));

        Assert.InRange(held, 3_800, 4_200);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => holdOut.IsValidation(i)), Enumerable.Range(0, 100).Select(i => new HoldOut(0.2, 3).IsValidation(i)));
        Assert.NotEqual(Enumerable.Range(0, 100).Select(i => holdOut.IsValidation(i)), Enumerable.Range(0, 100).Select(i => new HoldOut(0.2, 4).IsValidation(i)));
    }

    sealed class PixelRow
    {
        [VectorType(3, Size, Size)]
        public float[] Image { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }
}

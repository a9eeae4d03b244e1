using EfficientNet.MLNet.Tasks;
using EfficientNet.MLNet.Pipeline;
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

    static TrainingImages Create(IDataView data, Func<long, bool> include, long budgetBytes, int batchSize = 8) =>
        TrainingImages.Create(data, "the data", ImageColumn.Find(data.Schema, "Image"), SingleLabelTask.Read(data.Schema, "Label").Labels(data.Schema, "Label", "the data"), Size, include, budgetBytes, batchSize, () => { });

    [Fact]
    public void Within_the_budget_images_are_decoded_once_and_kept()
    {
        var images = Create(Rows(50), _ => true, budgetBytes: 50 * 48);

        Assert.IsType<CachedTrainingImages>(images);
        Assert.Equal(50, images.Count);
        Assert.Equal(50 * 3 * Size * Size, images.CachedBytes);
        Assert.Equal(Enumerable.Range(0, 50), images.InOrder(16).SelectMany(b => b.Images).Select(i => (int)i[0]));
    }

    [Fact]
    public void Over_the_budget_each_epoch_streams_every_row_once_in_a_shuffled_order()
    {
        const int n = 1000;
        var images = Create(Rows(n), _ => true, budgetBytes: n * 48 - 1);

        var epoch = images.Shuffled(8, new Random(1)).ToList();
        var order = epoch.SelectMany(b => b.Images).Select(i => (int)i[0]).ToList();
        var labels = epoch.SelectMany(b => b.Labels).ToList();

        Assert.IsType<StreamedTrainingImages>(images);
        Assert.Equal(0, images.CachedBytes);
        Assert.Equal(n, images.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(i => i % 256).Order(), order.Order());
        Assert.Equal(n / 2, labels.Count(l => l.Single() == 0));
        Assert.NotEqual(Enumerable.Range(0, n).Select(i => i % 256), order);
        Assert.All(epoch.Take(epoch.Count - 1), b => Assert.Equal(8, b.Images.Count));
    }

    [Fact]
    public void The_streamed_shuffle_buffer_stays_within_the_memory_budget_but_holds_at_least_a_batch()
    {
        // 48 bytes per 4x4 image: a budget of 100 images is under the 32 batches of 8 (256) the buffer would like.
        var small = Assert.IsType<StreamedTrainingImages>(Create(Rows(1000), _ => true, budgetBytes: 100 * 48));
        var tiny = Assert.IsType<StreamedTrainingImages>(Create(Rows(1000), _ => true, budgetBytes: 3 * 48));
        var ample = Assert.IsType<StreamedTrainingImages>(Create(Rows(1000), _ => true, budgetBytes: 999 * 48));

        Assert.Equal(100, small.ShuffleCapacityImages);
        Assert.Equal(100 * 48, small.MemoryBytes);
        Assert.Equal(8, tiny.ShuffleCapacityImages);
        Assert.Equal(8 * StreamedTrainingImages.ShuffleBufferBatches, ample.ShuffleCapacityImages);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i % 256).Order(), small.Shuffled(8, new Random(2)).SelectMany(b => b.Images).Select(i => (int)i[0]).Order());
    }

    [Fact]
    public void A_streamed_epoch_draws_from_all_the_rows_from_its_first_batch_even_with_a_small_buffer()
    {
        // Rows sorted like a folder of classes: labels a then b. A buffer of 100 rows that only mixed neighbours
        // would start the epoch with a's only.
        var ml = new MLContext();
        var rows = Enumerable.Range(0, 1000).Select(i => new PixelRow { Image = Enumerable.Repeat((float)(i / 4), 3 * Size * Size).ToArray(), Label = i < 500 ? "a" : "b" });
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var images = Assert.IsType<StreamedTrainingImages>(Create(data, _ => true, budgetBytes: 100 * 48));

        var firstBatches = images.Shuffled(8, new Random(3)).Take(5).ToList();

        Assert.InRange(firstBatches.SelectMany(b => b.Labels).Count(l => l.Single() == 1), 10, 30); // about half of 40 are b's
        Assert.True(firstBatches.SelectMany(b => b.Images).Max(i => i[0]) > 200, "rows from the end of the data come early");
    }

    [Fact]
    public void The_filter_keeps_only_the_selected_rows()
    {
        var images = Create(Rows(20), row => row % 4 == 0, long.MaxValue);

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

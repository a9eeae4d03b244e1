using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Transform's lazy view scores each row from that row: with one cursor over the input, so a source whose cursors
/// do not repeat the same rows in the same order (a database query without ORDER BY, a one-shot stream) still gets
/// every score on the right row, and every upstream value is computed once.
/// </summary>
[Collection(TrainingCollection.Name)]
public class ScoredDataViewTests(ShapesFixture shapes)
{
    [Fact]
    public void Each_row_gets_the_score_of_its_own_image_when_every_cursor_returns_another_order()
    {
        var paths = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(40).Select(r => r.ImagePath).ToList();
        var images = paths.Select(File.ReadAllBytes).ToArray();
        var source = new ShufflingImageView(images);
        var alone = images.Select(image => ScoreAlone(image)).ToList();

        var scored = shapes.Classifier.Transform(source);
        var rows = new List<(int Id, float[] Score)>();
        using (var cursor = scored.GetRowCursor(scored.Schema))
        {
            var id = cursor.GetGetter<int>(scored.Schema["Id"]);
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            int value = 0;
            var probabilities = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                id(ref value);
                score(ref probabilities);
                rows.Add((value, probabilities.DenseValues().ToArray()));
            }
        }

        Assert.Equal(images.Length, rows.Count);
        Assert.NotEqual(Enumerable.Range(0, images.Length), rows.Select(r => r.Id)); // the view did shuffle
        Assert.All(rows, row => Assert.Equal(alone[row.Id], row.Score, new ToleranceComparer(1e-5f)));
        Assert.Equal(images.Length, source.ImageReads); // each image read once: one cursor, not two
    }

    [Fact]
    public void A_damaged_image_in_the_batch_read_ahead_stops_the_cursor_only_when_its_batch_comes()
    {
        // 40 rows in batches of 32: while the first batch is handed out, the second (rows 32..39) is read and decoded.
        var images = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(40).Select(r => File.ReadAllBytes(r.ImagePath)).ToArray();
        images[37] = "not an image"u8.ToArray();
        var scored = shapes.Classifier.Transform(new ShufflingImageView(images, shuffle: false));
        var delivered = new List<int>();

        using var cursor = scored.GetRowCursor(scored.Schema);
        var id = cursor.GetGetter<int>(scored.Schema["Id"]);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        var error = Assert.Throws<ImageRowException>(() =>
        {
            int value = 0;
            var probabilities = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                id(ref value);
                score(ref probabilities);
                Assert.Equal(ScoreAlone(images[value]), probabilities.DenseValues().ToArray(), new ToleranceComparer(1e-5f));
                delivered.Add(value);
            }
        });

        Assert.Equal(Enumerable.Range(0, 32), delivered);
        Assert.Equal(37, error.Row);
        Assert.Equal("Image", error.Column);
    }

    [Fact]
    public void Images_handed_out_of_the_read_ahead_are_disposed_when_their_slot_is_reused_or_the_cursor_is()
    {
        // LoadImages' images pass through Transform: the view keeps a copy per row for its read-ahead and hands each
        // reader a copy of its own. 100 rows, two batches of 32 kept: every copy is released, none left to the finalizer.
        var rows = shapes.MLContext.Data.LoadFromEnumerable(shapes.Images.Take(100).ToList());
        var loaded = shapes.MLContext.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)).Fit(rows).Transform(rows);
        var scored = shapes.Classifier.Transform(loaded);
        var handedOut = new List<MLImage>();

        using (var cursor = scored.GetRowCursor(scored.Schema))
        {
            var image = cursor.GetGetter<MLImage>(scored.Schema["Image"]);
            while (cursor.MoveNext())
            {
                MLImage value = null!;
                image(ref value);
                Assert.True(value.Width > 0);
                handedOut.Add(value);
            }
            Assert.True(IsDisposed(handedOut[0]), "the first row's copy outlived its slot"); // its slot was filled again
            Assert.False(IsDisposed(handedOut[^1]));
        }

        Assert.Equal(100, handedOut.Count);
        Assert.All(handedOut, copy => Assert.True(IsDisposed(copy)));
    }

    static bool IsDisposed(MLImage image)
    {
        try
        {
            _ = image.Pixels.Length;
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            return true;
        }
    }

    float[] ScoreAlone(byte[] image)
    {
        var view = new ShufflingImageView(new[] { image });
        return shapes.Classifier.Transform(view).GetColumn<float[]>("Score").Single();
    }

    /// <summary>Rows (Id, encoded image bytes) whose every cursor visits them in a new random order (or in order).</summary>
    sealed class ShufflingImageView(byte[][] rows, bool shuffle = true) : IDataView
    {
        private readonly byte[][] images = rows;
        private int cursors;
        private int imageReads;

        public int ImageReads => imageReads;

        public DataViewSchema Schema { get; } = BuildSchema();

        static DataViewSchema BuildSchema()
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumn("Id", NumberDataViewType.Int32);
            builder.AddColumn("Image", new VectorDataViewType(NumberDataViewType.Byte));
            return builder.ToSchema();
        }

        public bool CanShuffle => false;
        public long? GetRowCount() => images.Length;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var order = Enumerable.Range(0, images.Length).OrderBy(_ => 0).ToArray();
            if (shuffle)
                new Random(++cursors).Shuffle(order);
            return new Cursor(this, order);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            new[] { GetRowCursor(columnsNeeded, rand) };

        sealed class Cursor(ShufflingImageView view, int[] order) : DataViewRowCursor
        {
            private long position = -1;

            public override DataViewSchema Schema => view.Schema;
            public override long Position => position;
            public override long Batch => 0;
            public override bool IsColumnActive(DataViewSchema.Column column) => true;
            public override bool MoveNext() => ++position < order.Length;
            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)order[position], 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Name == "Id")
                    return (ValueGetter<TValue>)(Delegate)(ValueGetter<int>)((ref int value) => value = order[position]);
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<VBuffer<byte>>)((ref VBuffer<byte> value) =>
                {
                    Interlocked.Increment(ref view.imageReads);
                    value = new VBuffer<byte>(view.images[order[position]].Length, view.images[order[position]]);
                });
            }
        }
    }
}

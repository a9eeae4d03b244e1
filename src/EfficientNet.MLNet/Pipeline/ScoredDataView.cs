using Microsoft.ML;
using System.Runtime.ExceptionServices;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// The lazy result of <see cref="EfficientNetTransformer.Transform"/> (and the featurizer's): the input's columns plus
/// the scorer's (Score and PredictedLabel, or the features). One cursor over the input reads a batch of rows ahead, keeping a copy of each row's values
/// (<see cref="RowBuffer"/>), scores the batch's images in one forward pass (while it reads and decodes the next batch),
/// and then hands out the rows one by one: every score belongs to the row it is shown with, whatever order the input's
/// cursors use, and every upstream value is computed once. Columns of a type that cannot be copied are served row by row instead (one image per pass).
/// </summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly IImageScorer transformer;
    private readonly IDataView input;
    private readonly ImageColumn image;

    public ScoredDataView(IImageScorer transformer, IDataView input)
    {
        this.transformer = transformer;
        this.input = input;
        image = ImageColumn.Find(input.Schema, transformer.FeatureColumnName);
        Schema = transformer.GetOutputSchema(input.Schema);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        var inputCount = input.Schema.Count;
        var passThrough = needed.Where(c => c.Index < inputCount).Select(c => input.Schema[c.Index]).ToList();
        if (needed.All(c => c.Index < inputCount))
            return new ScoringCursor(this, input.GetRowCursor(passThrough), needed, null, 1);
        var cursor = input.GetRowCursor(passThrough.Append(image.Column).DistinctBy(c => c.Index));
        var buffer = RowBuffer.TryCreate(cursor, passThrough, 2 * transformer.InferenceBatchSize);
        if (buffer is null)
            return new ScoringCursor(this, cursor, needed, image.DeferredReader(cursor, transformer.ImageSize), 1);
        // Each row's image is read once: from the buffer's copy when the image column is kept too.
        ScoringCursor? scoring = null;
        var imageSource = buffer.Keeps(image.Column) ? buffer.Row(input.Schema, () => scoring!.Filling, () => cursor.Position) : cursor;
        scoring = new ScoringCursor(this, cursor, needed, image.DeferredReader(imageSource, transformer.ImageSize), transformer.InferenceBatchSize, buffer);
        return scoring;
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    /// <param name="parent">The view.</param>
    /// <param name="input">The one cursor over the input.</param>
    /// <param name="needed">The columns asked for.</param>
    /// <param name="readImage">Takes the input cursor's current image (to be finished later: encoded bytes are decoded
    /// for the whole batch at once, in parallel); null when no score is asked for.</param>
    /// <param name="batchSize">Rows scored in one pass.</param>
    /// <param name="buffer">Copies of the rows read ahead (two batches: the one handed out and the next), or null:
    /// then rows are scored one at a time, as they are read.</param>
    private sealed class ScoringCursor(ScoredDataView parent, DataViewRowCursor input, List<DataViewSchema.Column> needed,
        Func<Func<byte[]>>? readImage, int batchSize, RowBuffer? buffer = null) : DataViewRowCursor
    {
        // A batch read from the input and decoded: its rows' positions, its images, and where its rows are in the buffer.
        private sealed record ReadBatch(int FirstSlot, byte[][] Pixels);

        private readonly bool[] active = Active(parent.Schema, needed);
        private readonly List<(long Row, Func<byte[]> Finish)> images = new(batchSize);
        private ReadBatch? next;
        private ExceptionDispatchInfo? nextFailure;
        private int readingSlot;
        private float[][] scores = Array.Empty<float[]>();
        private int firstSlot, filled, index = -1;
        private long position = -1;

        static bool[] Active(DataViewSchema schema, List<DataViewSchema.Column> needed)
        {
            var active = new bool[schema.Count];
            foreach (var column in needed) active[column.Index] = true;
            return active;
        }

        /// <summary>The buffer slot the row being read ahead goes to.</summary>
        public int Filling => readingSlot + images.Count;

        // The buffer slot of the row handed out now.
        int Slot => firstSlot + index;

        public override DataViewSchema Schema => parent.Schema;
        public override long Position => position;
        public override long Batch => 0;
        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => buffer is null ? input.GetIdGetter() : buffer.IdGetter(() => Slot);

        public override bool MoveNext()
        {
            if (readImage is null || ++index >= filled)
            {
                if (!(readImage is null ? input.MoveNext() : Fill()))
                    return false;
            }
            position++;
            return true;
        }

        // Scores the batch read ahead (reading it first if there is none) while the cursor reads and decodes the next
        // one into the buffer's other half, so that reading and decoding (ML.NET's upstream columns included) overlap
        // scoring. A problem in the next batch surfaces when that batch's turn comes, never while this one is handed
        // out. An image that cannot be read is named by its row (the first such row of its batch).
        bool Fill()
        {
            // The first batch has nothing to overlap with: its images are decoded on every core.
            var batch = next ?? (nextFailure is null ? Read(firstSlot: 0, decoders: Environment.ProcessorCount) : null);
            nextFailure?.Throw();
            next = null;
            if (batch is null)
                return false;
            var pipelined = buffer is not null;
            if (pipelined)
            {
                var scoring = Task.Run(() => parent.transformer.Score(batch.Pixels));
                try
                {
                    next = Read(firstSlot: batch.FirstSlot == 0 ? batchSize : 0);
                }
                catch (Exception e)
                {
                    nextFailure = ExceptionDispatchInfo.Capture(e);
                }
                scores = scoring.GetAwaiter().GetResult();
            }
            else
                scores = parent.transformer.Score(batch.Pixels);
            firstSlot = batch.FirstSlot;
            filled = batch.Pixels.Length;
            index = 0;
            return true;
        }

        // Reads up to a batch of rows (copying them into the buffer from firstSlot on) and decodes their images on
        // 'decoders' threads (one while the engine scores the previous batch on the cores); null at the end of the input.
        ReadBatch? Read(int firstSlot, int decoders = 1)
        {
            images.Clear();
            readingSlot = firstSlot;
            while (images.Count < batchSize && input.MoveNext())
            {
                buffer?.Capture(Filling);
                try
                {
                    images.Add((input.Position, readImage!()));
                }
                catch (InvalidDataException e)
                {
                    throw parent.image.RowError(input.Position, e);
                }
            }
            if (images.Count == 0)
                return null;
            var pixels = new byte[images.Count][];
            var problems = new InvalidDataException?[images.Count];
            Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = decoders }, i =>
            {
                try
                {
                    pixels[i] = images[i].Finish();
                }
                catch (InvalidDataException e)
                {
                    problems[i] = e;
                }
            });
            if (Array.FindIndex(problems, p => p is not null) is var failed and >= 0)
                throw parent.image.RowError(images[failed].Row, problems[failed]!);
            return new ReadBatch(firstSlot, pixels);
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var inputCount = parent.input.Schema.Count;
            if (column.Index < inputCount)
            {
                var inputColumn = parent.input.Schema[column.Index];
                return buffer is null ? input.GetGetter<TValue>(inputColumn) : buffer.Getter<TValue>(inputColumn, () => Slot);
            }
            return (ValueGetter<TValue>)parent.transformer.OutputGetter(column.Index - inputCount, () => scores[index]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                input.Dispose();
                buffer?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// The lazy result of <see cref="EfficientNetTransformer.Transform"/>: the input's columns plus Score and
/// PredictedLabel, computed batch by batch as a cursor moves (one forward pass per batch of rows).
/// </summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly EfficientNetTransformer transformer;
    private readonly IDataView input;
    private readonly ImageColumn image;

    public ScoredDataView(EfficientNetTransformer transformer, IDataView input)
    {
        this.transformer = transformer;
        this.input = input;
        image = ImageColumn.Find(input.Schema, transformer.ImageColumnName);
        Schema = transformer.GetOutputSchema(input.Schema);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        var inputCount = input.Schema.Count;
        var scores = needed.Any(c => c.Index >= inputCount);
        // Two cursors over the same rows in the same order: one runs ahead to fill a batch of images, the other
        // serves the input's own columns for the current row.
        var passThrough = input.GetRowCursor(needed.Where(c => c.Index < inputCount).Select(c => input.Schema[c.Index]));
        var ahead = scores ? input.GetRowCursor(new[] { image.Column }) : null;
        return new ScoringCursor(this, passThrough, ahead, needed);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class ScoringCursor : DataViewRowCursor
    {
        private readonly ScoredDataView parent;
        private readonly DataViewRowCursor passThrough;
        private readonly DataViewRowCursor? ahead;
        private readonly Func<byte[]>? readImage;
        private readonly bool[] active;
        private readonly List<float[]> batch = new();
        private long batchStart;

        public ScoringCursor(ScoredDataView parent, DataViewRowCursor passThrough, DataViewRowCursor? ahead, List<DataViewSchema.Column> needed)
        {
            this.parent = parent;
            this.passThrough = passThrough;
            this.ahead = ahead;
            readImage = ahead is null ? null : parent.image.Reader(ahead, parent.transformer.ImageSize);
            active = new bool[parent.Schema.Count];
            foreach (var column in needed) active[column.Index] = true;
        }

        public override DataViewSchema Schema => parent.Schema;
        public override long Position => passThrough.Position;
        public override long Batch => passThrough.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => passThrough.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override bool MoveNext()
        {
            if (!passThrough.MoveNext())
                return false;
            if (ahead is not null && Position >= batchStart + batch.Count)
                FillBatch();
            return true;
        }

        void FillBatch()
        {
            batchStart = Position;
            batch.Clear();
            var images = new List<byte[]>();
            while (images.Count < parent.transformer.InferenceBatchSize && ahead!.MoveNext())
            {
                try
                {
                    images.Add(readImage!());
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    throw parent.image.RowError(ahead.Position, e);
                }
            }
            batch.AddRange(parent.transformer.Score(images));
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var inputCount = parent.input.Schema.Count;
            if (column.Index < inputCount)
                return passThrough.GetGetter<TValue>(parent.input.Schema[column.Index]);
            return column.Index == inputCount
                ? (ValueGetter<TValue>)(Delegate)Scoring.ScoreGetter(() => batch[(int)(Position - batchStart)])
                : (ValueGetter<TValue>)(Delegate)Scoring.PredictedLabelGetter(() => batch[(int)(Position - batchStart)]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                passThrough.Dispose();
                ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// Row-by-row scoring for PredictionEngine: the output row passes the input's columns through and scores the
/// current row's image when an added column (Score, PredictedLabel, the features) is read (once per row).
/// </summary>
internal sealed class ScoringRowMapper : IRowToRowMapper
{
    private readonly IImageScorer transformer;
    private readonly ImageColumn image;

    public ScoringRowMapper(IImageScorer transformer, DataViewSchema inputSchema)
    {
        this.transformer = transformer;
        InputSchema = inputSchema;
        image = ImageColumn.Find(inputSchema, transformer.FeatureColumnName);
        OutputSchema = transformer.GetOutputSchema(inputSchema);
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = dependingColumns.ToList();
        var inputs = needed.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (needed.Any(c => c.Index >= InputSchema.Count) && inputs.All(c => c.Index != image.Column.Index))
            inputs.Add(image.Column);
        return inputs;
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new ScoredRow(this, input, activeColumns);

    private sealed class ScoredRow : DataViewRow
    {
        private readonly ScoringRowMapper mapper;
        private readonly DataViewRow input;
        private readonly bool[] active;
        private readonly Func<byte[]>? readImage;
        private long scoredPosition = -1;
        private float[] probabilities = Array.Empty<float>();

        public ScoredRow(ScoringRowMapper mapper, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            this.mapper = mapper;
            this.input = input;
            active = new bool[mapper.OutputSchema.Count];
            foreach (var column in activeColumns) active[column.Index] = true;
            if (active.Skip(mapper.InputSchema.Count).Any(a => a))
                readImage = mapper.image.Reader(input, mapper.transformer.ImageSize);
        }

        public override DataViewSchema Schema => mapper.OutputSchema;
        public override long Position => input.Position;
        public override long Batch => input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        float[] Current()
        {
            if (scoredPosition != Position || probabilities.Length == 0)
            {
                byte[] pixels;
                try
                {
                    pixels = readImage!();
                }
                catch (InvalidDataException e)
                {
                    throw mapper.image.RowError(Position, e);
                }
                probabilities = mapper.transformer.Score(new[] { pixels })[0];
                scoredPosition = Position;
            }
            return probabilities;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var inputCount = mapper.InputSchema.Count;
            if (column.Index < inputCount)
                return input.GetGetter<TValue>(mapper.InputSchema[column.Index]);
            return (ValueGetter<TValue>)mapper.transformer.OutputGetter(column.Index - inputCount, Current);
        }
    }
}

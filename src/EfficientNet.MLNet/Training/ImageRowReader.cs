using System.IO.Hashing;
using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Tasks;
using Microsoft.ML;

namespace EfficientNet.MLNet.Training;

/// <summary>A decoded training row: planar RGB bytes, its 0-based labels (one class, or a label set), example weight (1 without a weight column).</summary>
internal readonly record struct ImageRow(byte[] Image, int[] Labels, float Weight);

/// <summary>Reads labelled (and optionally weighted) images from an IDataView, row by row, keeping the rows a filter selects.</summary>
internal sealed class ImageRowReader
{
    private readonly IDataView data;
    private readonly ImageColumn image;
    private readonly LabelReading labels;
    private readonly DataViewSchema.Column? weight;
    private readonly Func<long, bool> include;
    private readonly Action checkCancellation;
    private readonly Action<ImageRowException>? skip;
    private readonly string dataName;
    private readonly bool multiLabel;

    /// <summary>A reader of <paramref name="data"/>, called <paramref name="dataName"/> in errors (e.g. "the training data").</summary>
    /// <param name="data">The rows.</param>
    /// <param name="dataName">How errors name the data.</param>
    /// <param name="image">The image column, found in the data's schema.</param>
    /// <param name="labels">The label column, and how to read a row's labels.</param>
    /// <param name="size">The square size images are resized to.</param>
    /// <param name="include">Which rows (by number) to read.</param>
    /// <param name="checkCancellation">Throws when training is cancelled.</param>
    /// <param name="skip">Null: an unreadable image is an error. Otherwise it is told of each unreadable image, which is left out.</param>
    /// <param name="weight">The example-weight column (Single), or null: every row weighs 1.</param>
    /// <param name="multiLabel">Whether rows hold label sets (for the fingerprint).</param>
    public ImageRowReader(IDataView data, string dataName, ImageColumn image, LabelReading labels, int size, Func<long, bool> include,
        Action checkCancellation, Action<ImageRowException>? skip = null, DataViewSchema.Column? weight = null, bool multiLabel = false)
    {
        this.multiLabel = multiLabel;
        this.weight = weight;
        this.data = data;
        this.dataName = dataName;
        this.image = image;
        this.labels = labels;
        Size = size;
        this.include = include;
        this.checkCancellation = checkCancellation;
        this.skip = skip;
    }

    public int Size { get; }

    /// <summary>Whether the rows carry example weights.</summary>
    public bool Weighted => weight is not null;

    /// <summary>
    /// A pass over the labels (and weights) only, images not decoded: how many rows are kept, how many have each label
    /// (by 0-based label), and a fingerprint of their labels and weights in order (for checkpoints: resuming with other
    /// data is refused). A missing label or a weight that is negative or not a number is an error.
    /// </summary>
    public (int Count, string LabelFingerprint, IReadOnlyDictionary<long, int> ClassCounts) CountAndCheckLabels()
    {
        using var cursor = data.GetRowCursor(weight is { } w ? new[] { labels.Column, w } : new[] { labels.Column });
        var readLabels = labels.Open(cursor);
        var readWeight = ReadWeight(cursor);
        var count = 0;
        var classCounts = new Dictionary<long, int>();
        var hash = new XxHash64();
        Span<byte> bytes = stackalloc byte[4];
        while (cursor.MoveNext())
        {
            checkCancellation();
            if (!include(cursor.Position))
                continue;
            var rowLabels = readLabels();
            // A multiclass row hashes its key as it always has; a label set its size first, so that sets cannot run together.
            if (rowLabels.Length != 1 || multiLabel)
            {
                BitConverter.TryWriteBytes(bytes, rowLabels.Length);
                hash.Append(bytes);
            }
            foreach (var label in rowLabels)
            {
                BitConverter.TryWriteBytes(bytes, (uint)label + 1);
                hash.Append(bytes);
                classCounts[label] = classCounts.GetValueOrDefault(label) + 1;
            }
            if (readWeight is not null)
            {
                BitConverter.TryWriteBytes(bytes, readWeight());
                hash.Append(bytes);
            }
            count++;
        }
        return (count, Convert.ToHexString(hash.GetCurrentHash()), classCounts);
    }

    // The example weight of the cursor's row, checked; null without a weight column.
    Func<float>? ReadWeight(DataViewRowCursor cursor)
    {
        if (weight is not { } column)
            return null;
        var getter = cursor.GetGetter<float>(column);
        return () =>
        {
            var value = 0f;
            getter(ref value);
            if (!float.IsFinite(value) || value < 0)
                throw new DataRowException(cursor.Position, column.Name, $"its example weight is {value}; expected a finite number of at least 0. Fix or remove the row", dataName);
            return value;
        };
    }

    /// <summary>
    /// The kept rows, decoded, in data order; an unreadable image is an error naming its row. A file that ML.NET's
    /// loader fails to read inside its own parallel cursor stops the pass with the file named (row -1): the cursor
    /// cannot go on after that, so it cannot be skipped.
    /// </summary>
    public IEnumerable<ImageRow> Rows() => Rows(_ => true).Select(row => row.Row);

    /// <summary>
    /// The kept rows whose index among the kept rows (0, 1, 2, ... in data order) <paramref name="wanted"/> selects,
    /// decoded, with that index; the images of the others are not read.
    /// </summary>
    public IEnumerable<(int Index, ImageRow Row)> Rows(Func<int, bool> wanted)
    {
        using var cursor = data.GetRowCursor(weight is { } w ? new[] { image.Column, labels.Column, w } : new[] { image.Column, labels.Column });
        var readImage = image.Reader(cursor, Size);
        var readLabels = labels.Open(cursor);
        var readWeight = ReadWeight(cursor);
        var index = -1;
        bool MoveNext()
        {
            try
            {
                return cursor.MoveNext();
            }
            catch (Exception e) when (FileProblem(e) is { } problem)
            {
                // ML.NET's workers read ahead of the cursor: which row failed is not known, the file is.
                throw image.RowError(-1, problem).In(dataName);
            }
        }
        while (MoveNext())
        {
            checkCancellation();
            if (!include(cursor.Position) || !wanted(++index))
                continue;
            var rowLabels = readLabels();
            var rowWeight = readWeight?.Invoke() ?? 1f;
            byte[] pixels;
            try
            {
                pixels = readImage();
            }
            catch (DataRowException e)
            {
                // Not an unreadable image but values the model cannot use (pixels outside 0..255): never skipped.
                throw e.In(dataName);
            }
            catch (Exception e) when (e is InvalidDataException || FileProblem(e) is not null)
            {
                var error = image.RowError(cursor.Position, e).In(dataName);
                if (skip is null)
                    throw error;
                skip(error);
                continue;
            }
            yield return (index, new ImageRow(pixels, rowLabels, rowWeight));
        }
    }

    // A missing or unreadable file, possibly wrapped by ML.NET's parallel cursor.
    static Exception? FileProblem(Exception error) => ExceptionCauses.Of(error).FirstOrDefault(e =>
        e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException and not EndOfStreamException);
}

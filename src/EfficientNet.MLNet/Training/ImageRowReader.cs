using System.IO.Hashing;
using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;

namespace EfficientNet.MLNet.Training;

/// <summary>Reads labelled images from an IDataView, row by row, keeping the rows a filter selects.</summary>
internal sealed class ImageRowReader
{
    private readonly IDataView data;
    private readonly ImageColumn image;
    private readonly DataViewSchema.Column label;
    private readonly Func<long, bool> include;
    private readonly Action checkCancellation;
    private readonly Action<ImageRowException>? skip;
    private readonly string dataName;

    /// <summary>A reader of <paramref name="data"/>, called <paramref name="dataName"/> in errors (e.g. "the training data").</summary>
    /// <param name="data">The rows.</param>
    /// <param name="dataName">How errors name the data.</param>
    /// <param name="image">The image column, found in the data's schema.</param>
    /// <param name="label">The label column (a key), found in the data's schema.</param>
    /// <param name="size">The square size images are resized to.</param>
    /// <param name="include">Which rows (by number) to read.</param>
    /// <param name="checkCancellation">Throws when training is cancelled.</param>
    /// <param name="skip">Null: an unreadable image is an error. Otherwise it is told of each unreadable image, which is left out.</param>
    public ImageRowReader(IDataView data, string dataName, ImageColumn image, DataViewSchema.Column label, int size, Func<long, bool> include,
        Action checkCancellation, Action<ImageRowException>? skip = null)
    {
        this.data = data;
        this.dataName = dataName;
        this.image = image;
        this.label = label;
        Size = size;
        this.include = include;
        this.checkCancellation = checkCancellation;
        this.skip = skip;
    }

    public int Size { get; }

    /// <summary>
    /// A pass over the labels only (images are not decoded): how many rows are kept, and a fingerprint of their labels
    /// in order (for checkpoints: resuming with other data is refused). A missing label is an error.
    /// </summary>
    public (int Count, string LabelFingerprint) CountAndCheckLabels()
    {
        using var cursor = data.GetRowCursor(new[] { label });
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
        var count = 0;
        var hash = new XxHash64();
        Span<byte> bytes = stackalloc byte[4];
        while (cursor.MoveNext())
        {
            checkCancellation();
            if (!include(cursor.Position))
                continue;
            readLabel(ref key);
            if (key == 0)
                throw new DataRowException(cursor.Position, label.Name, "it has no value (a missing key). Remove unlabelled rows, or give them a class", dataName);
            BitConverter.TryWriteBytes(bytes, key);
            hash.Append(bytes);
            count++;
        }
        return (count, Convert.ToHexString(hash.GetCurrentHash()));
    }

    /// <summary>
    /// The kept rows, decoded, in data order; an unreadable image is an error naming its row. A file that ML.NET's
    /// loader fails to read inside its own parallel cursor stops the pass with the file named (row -1): the cursor
    /// cannot go on after that, so it cannot be skipped.
    /// </summary>
    public IEnumerable<(byte[] Image, long Label)> Rows() => Rows(_ => true).Select(row => (row.Image, row.Label));

    /// <summary>
    /// The kept rows whose index among the kept rows (0, 1, 2, ... in data order) <paramref name="wanted"/> selects,
    /// decoded, with that index; the images of the others are not read.
    /// </summary>
    public IEnumerable<(int Index, byte[] Image, long Label)> Rows(Func<int, bool> wanted)
    {
        using var cursor = data.GetRowCursor(new[] { image.Column, label });
        var readImage = image.Reader(cursor, Size);
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
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
            readLabel(ref key);
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
            yield return (index, pixels, key - 1L);
        }
    }

    // A missing or unreadable file, possibly wrapped by ML.NET's parallel cursor.
    static Exception? FileProblem(Exception error) => ExceptionCauses.Of(error).FirstOrDefault(e =>
        e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException and not EndOfStreamException);
}

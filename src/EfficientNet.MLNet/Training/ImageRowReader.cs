using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;

namespace EfficientNet.MLNet.Training;

/// <summary>Reads labelled images from an IDataView, row by row, keeping the rows a filter selects.</summary>
internal sealed class ImageRowReader
{
    private readonly IDataView data;
    private readonly ImageColumn image;
    private readonly DataViewSchema.Column label;
    private readonly string labelColumnName;
    private readonly Func<long, bool> include;
    private readonly Action checkCancellation;
    private readonly Action<ImageRowException>? skip;
    private readonly string dataName;

    /// <summary>A reader of <paramref name="data"/>, called <paramref name="dataName"/> in errors (e.g. "the training data").</summary>
    /// <param name="data">The rows.</param>
    /// <param name="dataName">How errors name the data.</param>
    /// <param name="imageColumnName">The image column.</param>
    /// <param name="labelColumnName">The label column (a key).</param>
    /// <param name="size">The square size images are resized to.</param>
    /// <param name="include">Which rows (by number) to read.</param>
    /// <param name="checkCancellation">Throws when training is cancelled.</param>
    /// <param name="skip">Null: an unreadable image is an error. Otherwise it is told of each unreadable image, which is left out.</param>
    public ImageRowReader(IDataView data, string dataName, string imageColumnName, string labelColumnName, int size, Func<long, bool> include,
        Action checkCancellation, Action<ImageRowException>? skip = null)
    {
        this.dataName = dataName;
        this.skip = skip;
        this.data = data;
        image = ImageColumn.Find(data.Schema, imageColumnName);
        (label, _) = LabelColumn.Find(data.Schema, labelColumnName);
        this.labelColumnName = labelColumnName;
        Size = size;
        this.include = include;
        this.checkCancellation = checkCancellation;
    }

    public int Size { get; }

    /// <summary>A pass over the labels only (images are not decoded): how many rows are kept; a missing label is an error.</summary>
    public int CountAndCheckLabels()
    {
        using var cursor = data.GetRowCursor(new[] { label });
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
        var count = 0;
        while (cursor.MoveNext())
        {
            checkCancellation();
            if (!include(cursor.Position))
                continue;
            readLabel(ref key);
            if (key == 0)
                throw new EfficientNetException($"Row {cursor.Position} of {dataName} has no value in the label column '{labelColumnName}' (a missing key). Remove unlabelled rows, or give them a class.");
            count++;
        }
        return count;
    }

    /// <summary>
    /// The kept rows, decoded, in data order; an unreadable image is an error naming its row. A file that ML.NET's
    /// loader fails to read inside its own parallel cursor stops the pass with the file named (row -1): the cursor
    /// cannot go on after that, so it cannot be skipped.
    /// </summary>
    public IEnumerable<(byte[] Image, long Label)> Rows()
    {
        using var cursor = data.GetRowCursor(new[] { image.Column, label });
        var readImage = image.Reader(cursor, Size);
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
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
            if (!include(cursor.Position))
                continue;
            readLabel(ref key);
            byte[] pixels;
            try
            {
                pixels = readImage();
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException || FileProblem(e) is not null)
            {
                var error = image.RowError(cursor.Position, e).In(dataName);
                if (skip is null)
                    throw error;
                skip(error);
                continue;
            }
            yield return (pixels, key - 1L);
        }
    }

    // A missing or unreadable file, possibly wrapped by ML.NET's parallel cursor.
    static Exception? FileProblem(Exception error) => ExceptionCauses.Of(error).FirstOrDefault(e =>
        e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException and not EndOfStreamException);
}

using EfficientNet.MLNet.MLNet;
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

    public ImageRowReader(IDataView data, string imageColumnName, string labelColumnName, int size, Func<long, bool> include, Action checkCancellation)
    {
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
                throw new EfficientNetException($"Row {cursor.Position} has no value in the label column '{labelColumnName}' (a missing key). Remove unlabelled rows, or give them a class.");
            count++;
        }
        return count;
    }

    /// <summary>The kept rows, decoded, in data order; an unreadable image is an error naming its row.</summary>
    public IEnumerable<(byte[] Image, long Label)> Rows()
    {
        using var cursor = data.GetRowCursor(new[] { image.Column, label });
        var readImage = image.Reader(cursor, Size);
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
        while (cursor.MoveNext())
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
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                throw image.RowError(cursor.Position, e);
            }
            yield return (pixels, key - 1L);
        }
    }
}

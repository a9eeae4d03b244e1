using EfficientNet.MLNet.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Labelled images decoded and resized once, kept as planar RGB bytes (3 x size x size each), so that epochs do
/// not decode again. Read through an IDataView cursor, one row at a time.
/// </summary>
internal sealed class DecodedImageSet
{
    private DecodedImageSet(List<byte[]> images, List<int> labels, int size)
    {
        Images = images;
        Labels = labels;
        Size = size;
    }

    public List<byte[]> Images { get; }
    public List<int> Labels { get; }
    public int Size { get; }
    public int Count => Images.Count;

    /// <summary>Reads every row; a row without a label or with an unreadable image is an error naming the row.</summary>
    public static DecodedImageSet Read(IDataView data, string imageColumnName, string labelColumnName, int size, Action checkCancellation)
    {
        var image = ImageColumn.Find(data.Schema, imageColumnName);
        var (label, _) = LabelColumn.Find(data.Schema, labelColumnName);
        var images = new List<byte[]>();
        var labels = new List<int>();
        using var cursor = data.GetRowCursor(new[] { image.Column, label });
        var readImage = image.Reader(cursor, size);
        var readLabel = cursor.GetGetter<uint>(label);
        uint key = 0;
        long row = 0;
        while (cursor.MoveNext())
        {
            checkCancellation();
            readLabel(ref key);
            if (key == 0)
                throw new EfficientNetException($"Row {row} has no value in the label column '{labelColumnName}' (a missing key). Remove unlabelled rows, or give them a class.");
            try
            {
                images.Add(readImage());
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                throw image.RowError(row, e);
            }
            labels.Add((int)key - 1);
            row++;
        }
        return new DecodedImageSet(images, labels, size);
    }

    /// <summary>Splits off a seeded random fraction for validation.</summary>
    public (DecodedImageSet Train, DecodedImageSet Validation) Split(double validationFraction, Random random)
    {
        var order = Enumerable.Range(0, Count).OrderBy(_ => random.Next()).ToArray();
        var validationCount = (int)Math.Round(Count * validationFraction);
        DecodedImageSet Take(IEnumerable<int> indices) =>
            new(indices.Select(i => Images[i]).ToList(), indices.Select(i => Labels[i]).ToList(), Size);
        return (Take(order.Skip(validationCount).Order()), Take(order.Take(validationCount).Order()));
    }
}

using EfficientNet.MLNet.Imaging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>The three forms an image column may take.</summary>
internal enum ImageColumnKind
{
    /// <summary>MLImage, from LoadImages (and optionally ResizeImages).</summary>
    Image,
    /// <summary>Encoded PNG/JPEG/... bytes: LoadRawImageBytes, or a byte[] property (Model Builder's contract).</summary>
    EncodedBytes,
    /// <summary>3 x H x W planar floats with values 0..255, from ExtractPixels.</summary>
    Pixels,
}

/// <summary>An image column of a schema, checked, and able to read a row's image as planar RGB bytes.</summary>
internal sealed class ImageColumn
{
    const string Expected = "an image (LoadImages), encoded image bytes (LoadRawImageBytes or a byte[] property), or a vector of 3 x H x W floats (ExtractPixels)";

    private ImageColumn(DataViewSchema.Column column, ImageColumnKind kind, int pixelHeight, int pixelWidth)
    {
        Column = column;
        Kind = kind;
        PixelHeight = pixelHeight;
        PixelWidth = pixelWidth;
    }

    public DataViewSchema.Column Column { get; }
    public ImageColumnKind Kind { get; }
    public int PixelHeight { get; }
    public int PixelWidth { get; }

    /// <summary>Finds and checks the column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Missing column or wrong type; the message says what was expected.</exception>
    public static ImageColumn Find(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"The image column '{name}' is not in the data (columns: {string.Join(", ", schema.Select(c => c.Name))}). Set ImageColumnName, or name the column '{name}'.");
        var type = column.Type;
        if (type is ImageDataViewType)
            return new ImageColumn(column, ImageColumnKind.Image, 0, 0);
        if (type is VectorDataViewType { ItemType: var item } vector && item == NumberDataViewType.Byte)
            return new ImageColumn(column, ImageColumnKind.EncodedBytes, 0, 0);
        if (type is VectorDataViewType floats && floats.ItemType == NumberDataViewType.Single && floats.IsKnownSize)
        {
            var (height, width) = PixelDimensions(floats);
            if (height > 0)
                return new ImageColumn(column, ImageColumnKind.Pixels, height, width);
        }
        throw new ArgumentOutOfRangeException(nameof(name), $"The image column '{name}' has type {type}; expected {Expected}.");
    }

    /// <summary>The same check on an estimator's schema shape; null when acceptable, otherwise the problem.</summary>
    public static string? ProblemWith(SchemaShape.Column column)
    {
        if (column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is ImageDataViewType)
            return null;
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar && column.ItemType == NumberDataViewType.Byte)
            return null;
        if (column.Kind == SchemaShape.Column.VectorKind.Vector && column.ItemType == NumberDataViewType.Single)
            return null;
        return $"The image column '{column.Name}' has type {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}; expected {Expected}.";
    }

    static (int Height, int Width) PixelDimensions(VectorDataViewType type)
    {
        var dims = type.Dimensions;
        if (dims.Length == 3 && dims[0] == 3)
            return (dims[1], dims[2]);
        var side = (int)Math.Round(Math.Sqrt(type.Size / 3.0));
        return side > 0 && 3 * side * side == type.Size ? (side, side) : (0, 0);
    }

    /// <summary>A reader of the current row's image, resized to <paramref name="size"/>: planar RGB bytes.</summary>
    public Func<byte[]> Reader(DataViewRow row, int size)
    {
        switch (Kind)
        {
            case ImageColumnKind.Image:
            {
                var getter = row.GetGetter<MLImage>(Column);
                MLImage image = null!;
                return () =>
                {
                    try
                    {
                        getter(ref image);
                    }
                    catch (ArgumentException e) when (e.ParamName == "imageStream")
                    {
                        throw new InvalidDataException("LoadImages could not decode the file: it is empty, damaged or not an image", e);
                    }
                    return image is null ? throw new InvalidDataException("the image is missing (LoadImages could not load it?)") : RgbImage.FromMLImage(image, size);
                };
            }
            case ImageColumnKind.EncodedBytes:
            {
                var getter = row.GetGetter<VBuffer<byte>>(Column);
                var bytes = default(VBuffer<byte>);
                return () =>
                {
                    getter(ref bytes);
                    return bytes.IsDense ? RgbImage.FromEncoded(bytes.GetValues(), size) : RgbImage.FromEncoded(bytes.DenseValues().ToArray(), size);
                };
            }
            default:
            {
                var getter = row.GetGetter<VBuffer<float>>(Column);
                var pixels = default(VBuffer<float>);
                return () =>
                {
                    getter(ref pixels);
                    return RgbImage.FromPlanarPixels(pixels.DenseValues().ToArray(), PixelHeight, PixelWidth, size);
                };
            }
        }
    }

    /// <summary>Wraps a problem with one row's image into an error that names the row and the column.</summary>
    public ImageRowException RowError(long row, Exception problem) =>
        new(row, Column.Name, problem.Message, innerException: problem);
}

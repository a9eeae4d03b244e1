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
    /// <summary>Planar [3, H, W] floats with values 0..255, from ExtractPixels (its default layout).</summary>
    Pixels,
    /// <summary>Interleaved [H, W, 3] floats with values 0..255, from ExtractPixels(interleavePixelColors: true).</summary>
    InterleavedPixels,
}

/// <summary>An image column of a schema, checked, and able to read a row's image as planar RGB bytes.</summary>
internal sealed class ImageColumn
{
    const string Expected = "an image (LoadImages), encoded image bytes (LoadRawImageBytes or a byte[] property), or a vector of 3 x H x W floats (ExtractPixels)";
    const string PixelSettings = "ExtractPixels with its default colorsToExtract (Rgb), offsetImage 0 and scaleImage 1";

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
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"The image column '{name}' is not in the data (columns: {string.Join(", ", schema.Select(c => c.Name))}). Set FeatureColumnName, or name the column '{name}'.");
        var type = column.Type;
        if (type is ImageDataViewType)
            return new ImageColumn(column, ImageColumnKind.Image, 0, 0);
        if (type is VectorDataViewType { ItemType: var item } vector && item == NumberDataViewType.Byte)
            return new ImageColumn(column, ImageColumnKind.EncodedBytes, 0, 0);
        if (type is VectorDataViewType floats && floats.ItemType == NumberDataViewType.Single && floats.IsKnownSize)
            return PixelColumn(column, floats);
        throw new ArgumentOutOfRangeException(nameof(name), $"The image column '{name}' has type {type}; expected {Expected}.");
    }

    // ExtractPixels gives [C, H, W], or [H, W, C] when interleaving; a plain float[] of 3 x S x S is read as planar.
    static ImageColumn PixelColumn(DataViewSchema.Column column, VectorDataViewType type)
    {
        var dims = type.Dimensions;
        string Problem(string problem) =>
            $"The image column '{column.Name}' holds {string.Join(" x ", dims)} floats: {problem}. Use {PixelSettings}, or give the trainer the image itself (LoadImages) or its bytes (LoadRawImageBytes).";
        if (dims.Length == 3)
        {
            var (planar, interleaved) = (dims[0] == 3, dims[2] == 3);
            if (planar && interleaved)
                throw new ArgumentOutOfRangeException(nameof(column), Problem("a 3-pixel side makes the layout ambiguous (3 x H x W planes, or H x W x 3 interleaved); resize the images first (ResizeImages)"));
            if (planar)
                return new ImageColumn(column, ImageColumnKind.Pixels, dims[1], dims[2]);
            if (interleaved)
                return new ImageColumn(column, ImageColumnKind.InterleavedPixels, dims[0], dims[1]);
            throw new ArgumentOutOfRangeException(nameof(column), Problem($"expected 3 colour planes (red, green, blue), not {Math.Min(dims[0], dims[2])}; set colorsToExtract to Rgb (no alpha)"));
        }
        var side = (int)Math.Round(Math.Sqrt(type.Size / 3.0));
        if (dims.Length == 1 && side > 0 && 3 * side * side == type.Size)
            return new ImageColumn(column, ImageColumnKind.Pixels, side, side);
        throw new ArgumentOutOfRangeException(nameof(column), Problem("expected 3 x H x W (planar red, green and blue)"));
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

    /// <summary>A reader of the current row's image, resized to <paramref name="size"/>: planar RGB bytes.</summary>
    public Func<byte[]> Reader(DataViewRow row, int size)
    {
        var deferred = DeferredReader(row, size);
        return () => deferred()();
    }

    /// <summary>
    /// A reader that takes the current row's image from the row now and returns how to finish it: encoded bytes are
    /// copied now and decoded later, so that a batch read from one cursor can be decoded in parallel; other kinds are
    /// finished at once (ML.NET has decoded them already).
    /// </summary>
    public Func<Func<byte[]>> DeferredReader(DataViewRow row, int size)
    {
        if (Kind == ImageColumnKind.EncodedBytes)
        {
            var getter = row.GetGetter<VBuffer<byte>>(Column);
            var bytes = default(VBuffer<byte>);
            return () =>
            {
                getter(ref bytes);
                var encoded = bytes.DenseValues().ToArray();
                return () => RgbImage.FromEncoded(encoded, size);
            };
        }
        var read = ImmediateReader(row, size);
        return () =>
        {
            var pixels = read();
            return () => pixels;
        };
    }

    Func<byte[]> ImmediateReader(DataViewRow row, int size)
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
            default:
            {
                var getter = row.GetGetter<VBuffer<float>>(Column);
                var pixels = default(VBuffer<float>);
                var interleaved = Kind == ImageColumnKind.InterleavedPixels;
                return () =>
                {
                    getter(ref pixels);
                    var values = pixels.DenseValues().ToArray();
                    if (RangeProblem(values) is { } problem)
                        throw new DataRowException(row.Position, Column.Name, problem);
                    return RgbImage.FromFloatPixels(values, PixelHeight, PixelWidth, interleaved, size);
                };
            }
        }
    }

    /// <summary>
    /// Why the values cannot be ExtractPixels' default 0..255 pixels, or null. Outside 0..255 means an offset or a
    /// scale; all within 0..1 with fractions means a 1/255 scale (pixels from the default are whole numbers, and a
    /// 0..255 image that dark is black to the eye anyway).
    /// </summary>
    static string? RangeProblem(float[] values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        var fractions = false;
        foreach (var value in values)
        {
            if (!float.IsFinite(value))
                return $"a pixel value is {value}; expected 0..255 from {PixelSettings}";
            min = Math.Min(min, value);
            max = Math.Max(max, value);
            fractions |= value != MathF.Round(value);
        }
        if (min < 0 || max > 255)
            return FormattableString.Invariant($"its pixel values run from {min} to {max}, outside 0..255. The model takes 0..255 and normalizes inside: remove offsetImage and scaleImage from ExtractPixels");
        if (max <= 1 && fractions)
            return FormattableString.Invariant($"its pixel values are all within 0..1 (up to {max}), as ExtractPixels gives with scaleImage 1/255. The model takes 0..255 and normalizes inside: remove scaleImage from ExtractPixels");
        return null;
    }

    /// <summary>Wraps a problem with one row's image into an error that names the row and the column.</summary>
    public ImageRowException RowError(long row, Exception problem) =>
        new(row, Column.Name, problem.Message, innerException: problem);
}

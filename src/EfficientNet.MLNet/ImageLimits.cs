using System.Globalization;
using SkiaSharp;

namespace EfficientNet.MLNet;

/// <summary>
/// The largest image, in pixels, the library decodes: a PNG of 200 KB or a JPEG of 2 KB can declare 40000 x 40000
/// pixels (6.4 GB decoded), a decompression bomb. The size is read from the file's header before any pixel is decoded,
/// in one place that the library's bytes path, Grad-CAM's overlay, the command-line tool and the web service example
/// all go through; a larger image is refused with an <see cref="InvalidDataException"/> (as every unreadable image is,
/// so that every door reports it the same way) whose inner exception is an <see cref="ImageTooLargeException"/> with the
/// numbers. ML.NET's own LoadImages decodes files itself, before this library sees them.
/// </summary>
public static class ImageLimits
{
    /// <summary>Pillow's limit (<c>Image.MAX_IMAGE_PIXELS</c>, 89,478,485: 1024 x 1024 x 1024 / 4 / 3), the default.</summary>
    public const long DefaultMaxPixels = 89_478_485;

    /// <summary>The environment variable that sets <see cref="MaxPixels"/> for a process.</summary>
    public const string MaxPixelsVariable = "EFFICIENTNET_MAX_IMAGE_PIXELS";

    private static long? maxPixels;

    /// <summary>The largest width x height decoded: <see cref="MaxPixelsVariable"/>'s value, else <see cref="DefaultMaxPixels"/>.</summary>
    public static long MaxPixels
    {
        get => maxPixels ?? FromVariable();
        set => maxPixels = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The pixel budget must be at least 1.");
    }

    /// <summary>Refuses a declared size over <see cref="MaxPixels"/> (or with a side of 0 or less).</summary>
    /// <exception cref="InvalidDataException">The image declares no pixels, or more than allowed (then its inner exception is an <see cref="ImageTooLargeException"/>).</exception>
    public static void Check(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new InvalidDataException($"the image declares a size of {width}x{height}");
        var limit = MaxPixels;
        if ((long)width * height > limit)
        {
            var tooLarge = new ImageTooLargeException(width, height, limit);
            throw new InvalidDataException(tooLarge.Message, tooLarge);
        }
    }

    /// <summary>
    /// Checks encoded bytes before any pixel is decoded: an image Skia reads, its declared size within the budget, and
    /// its file not cut off before the end its format marks (a truncated upload or copy, which decoders such as ML.NET's
    /// LoadImages would fill with grey and score). Every door of the library goes through this.
    /// </summary>
    /// <returns>The width and height.</returns>
    /// <exception cref="InvalidDataException">The bytes are no image Skia reads (PNG, JPEG, BMP, GIF, WebP), it declares no
    /// pixels or more than allowed (then its inner exception is an <see cref="ImageTooLargeException"/>), or it is truncated.</exception>
    public static (int Width, int Height) CheckEncoded(ReadOnlySpan<byte> encoded)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"the {encoded.Length} bytes are not a PNG, JPEG, BMP, GIF or WebP image that can be decoded (truncated or not an image?)");
        Check(codec.Info.Width, codec.Info.Height);
        if (!Imaging.EncodedImageEnd.IsComplete(encoded, codec.EncodedFormat))
            throw new InvalidDataException(Truncated(codec.Info.Width, codec.Info.Height));
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>The one message for a truncated or damaged image, whichever check finds it.</summary>
    internal static string Truncated(int width, int height) =>
        $"the {width}x{height} image is truncated or damaged: its data ends early or is corrupt (an interrupted upload, download or copy?)";

    static long FromVariable()
    {
        var text = Environment.GetEnvironmentVariable(MaxPixelsVariable);
        if (string.IsNullOrWhiteSpace(text))
            return DefaultMaxPixels;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 1
            ? value
            : throw new ArgumentException($"{MaxPixelsVariable}='{text}' is not a pixel count: give a whole number of at least 1, or unset it for {DefaultMaxPixels}.");
    }
}

/// <summary>
/// An image declares more pixels than <see cref="ImageLimits.MaxPixels"/> allows (a decompression bomb, or simply too
/// large): the inner exception of the <see cref="InvalidDataException"/> that refuses it, with the numbers.
/// </summary>
public sealed class ImageTooLargeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageTooLargeException(int width, int height, long maxPixels)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"the image declares {width}x{height} = {(long)width * height:N0} pixels, more than the limit of {maxPixels:N0} (ImageLimits.MaxPixels, {ImageLimits.MaxPixelsVariable}); nothing was decoded. Send a smaller image, or raise the limit if it is genuine."))
    {
        (Width, Height, MaxPixels) = (width, height, maxPixels);
    }

    /// <summary>The declared width.</summary>
    public int Width { get; }

    /// <summary>The declared height.</summary>
    public int Height { get; }

    /// <summary>The limit in force.</summary>
    public long MaxPixels { get; }
}

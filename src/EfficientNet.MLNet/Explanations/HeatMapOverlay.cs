using SkiaSharp;

namespace EfficientNet.MLNet.Explanations;

/// <summary>Draws a heat map over an image: the "jet" colours, blue to red, blended at an opacity, the map scaled to the image.</summary>
internal static class HeatMapOverlay
{
    public static byte[] Png(byte[] image, IReadOnlyList<float> heat, int size, double opacity)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!(opacity is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(opacity), opacity, "Between 0 and 1.");
        try
        {
            ImageLimits.CheckEncoded(image); // the overlay has the image's own size: never decode a bomb
        }
        catch (InvalidDataException e) when (e.InnerException is not ImageTooLargeException)
        {
            throw new ArgumentException($"The image cannot be decoded: expected PNG, JPEG, BMP, GIF or WebP bytes ({e.Message}).", nameof(image), e);
        }
        using var original = SKBitmap.Decode(image)
            ?? throw new ArgumentException("The image cannot be decoded: expected PNG, JPEG, BMP, GIF or WebP bytes.", nameof(image));
        using var map = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                map.SetPixel(x, y, Jet(heat[y * size + x], (byte)Math.Round(255 * opacity)));
        using var surface = SKSurface.Create(new SKImageInfo(original.Width, original.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.DrawBitmap(original, 0, 0);
        using var scaled = SKImage.FromBitmap(map);
        using var paint = new SKPaint { IsAntialias = true, FilterQuality = SKFilterQuality.Medium };
        canvas.DrawImage(scaled, new SKRect(0, 0, original.Width, original.Height), paint);
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    // The "jet" colour map: 0 dark blue, 0.5 green-yellow, 1 dark red.
    static SKColor Jet(float value, byte alpha)
    {
        var v = Math.Clamp(value, 0f, 1f);
        static byte Channel(double x) => (byte)Math.Round(255 * Math.Clamp(x, 0, 1));
        return new SKColor(Channel(1.5 - Math.Abs(4 * v - 3)), Channel(1.5 - Math.Abs(4 * v - 2)), Channel(1.5 - Math.Abs(4 * v - 1)), alpha);
    }
}

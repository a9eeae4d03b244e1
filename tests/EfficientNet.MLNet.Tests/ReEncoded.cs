using SkiaSharp;

namespace EfficientNet.MLNet.Tests;

/// <summary>An encoded image made again at another size or in another format (Skia), for tests that need one.</summary>
internal static class ReEncoded
{
    /// <summary>The image resized (bilinear) to <paramref name="width"/> x <paramref name="height"/>, as a PNG.</summary>
    public static byte[] Resized(byte[] encoded, int width, int height)
    {
        using var source = SKBitmap.Decode(encoded);
        using var resized = source.Resize(new SKImageInfo(width, height), new SKSamplingOptions(SKFilterMode.Linear));
        using var data = resized.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The image as a JPEG of quality 90.</summary>
    public static byte[] Jpeg(byte[] encoded)
    {
        using var bitmap = SKBitmap.Decode(encoded);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}

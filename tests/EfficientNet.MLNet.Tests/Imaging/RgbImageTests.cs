using EfficientNet.MLNet.Imaging;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Imaging;

public class RgbImageTests
{
    static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var data = bitmap.Encode(format, 100);
        return data.ToArray();
    }

    [Fact]
    public void Colour_png_becomes_red_green_and_blue_planes()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(new SKColor(200, 100, 50));

        var planar = RgbImage.FromEncoded(Encode(bitmap), 4);

        Assert.Equal(3 * 16, planar.Length);
        Assert.All(planar[..16], v => Assert.Equal(200, v));
        Assert.All(planar[16..32], v => Assert.Equal(100, v));
        Assert.All(planar[32..], v => Assert.Equal(50, v));
    }

    [Fact]
    public void Grayscale_becomes_three_equal_planes()
    {
        using var gray = new SKBitmap(new SKImageInfo(6, 6, SKColorType.Gray8, SKAlphaType.Opaque));
        gray.Erase(new SKColor(90, 90, 90));

        var planar = RgbImage.FromEncoded(Encode(gray), 6);

        Assert.All(planar, v => Assert.Equal(90, v));
    }

    [Fact]
    public void Transparency_is_composited_over_black()
    {
        using var translucent = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        translucent.Erase(new SKColor(10, 220, 130, 128));

        var planar = RgbImage.FromEncoded(Encode(translucent), 4);

        // Half transparent: half the colour (the premultiplied colour ML.NET's LoadImages gives, over black).
        Assert.InRange(planar[0], 4, 6);
        Assert.InRange(planar[16], 109, 111);
        Assert.InRange(planar[32], 64, 66);
    }

    [Fact]
    public void A_transparent_png_gives_the_same_pixels_through_its_bytes_and_through_LoadImages()
    {
        // Every alpha from 0 to 255 over changing colours, stored straight (as PNG stores them), resized 16 -> 8.
        using var folder = new FixturePaths.TemporaryFolder();
        using var image = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 16; y++)
            for (var x = 0; x < 16; x++)
                image.SetPixel(x, y, new SKColor((byte)(16 * x), (byte)(255 - 16 * y), 200, (byte)(16 * y + x)));
        var png = Encode(image);
        var path = folder.File("translucent.png");
        File.WriteAllBytes(path, png);

        var fromBytes = RgbImage.FromEncoded(png, 8);
        using var loaded = Microsoft.ML.Data.MLImage.CreateFromFile(path); // what LoadImages does
        var fromLoadImages = RgbImage.FromMLImage(loaded, 8);

        // Before, the bytes path kept the straight colours and LoadImages' premultiplied ones were read as straight:
        // up to 200 levels apart where the image is nearly transparent.
        Assert.Equal(fromBytes.Length, fromLoadImages.Length);
        var worst = fromBytes.Zip(fromLoadImages, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1, $"the doors differ by up to {worst} levels");
    }

    [Fact]
    public void Any_size_is_stretched_to_the_square()
    {
        using var wide = new SKBitmap(new SKImageInfo(40, 10, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        wide.Erase(SKColors.White);

        var planar = RgbImage.FromEncoded(Encode(wide, SKEncodedImageFormat.Jpeg), 16);

        Assert.Equal(3 * 16 * 16, planar.Length);
        Assert.All(planar, v => Assert.InRange(v, 250, 255));
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 }, "not a PNG, JPEG")]
    public void Undecodable_bytes_say_why(byte[] bytes, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncoded(bytes, 8));

        Assert.Contains(expected, error.Message);
    }
}

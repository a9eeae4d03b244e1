using EfficientNet.MLNet.Imaging;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Imaging;

/// <summary>Formats that work and damage that is refused; fixtures made by Fixtures/images/make_image_fixtures.sh.</summary>
public class UnusualImageTests
{
    static byte[] Fixture(string name) => File.ReadAllBytes(FixturePaths.Of(Path.Combine("images", name)));

    /// <summary>The RGB of pixel (x, y) in planar bytes of a size x size image.</summary>
    static (int R, int G, int B) Pixel(byte[] planar, int size, int x, int y)
    {
        var plane = size * size;
        var i = y * size + x;
        return (planar[i], planar[plane + i], planar[2 * plane + i]);
    }

    static void Near((int R, int G, int B) actual, (int R, int G, int B) expected, int tolerance = 8) =>
        Assert.True(Math.Abs(actual.R - expected.R) <= tolerance && Math.Abs(actual.G - expected.G) <= tolerance && Math.Abs(actual.B - expected.B) <= tolerance,
            $"expected about {expected}, got {actual}");

    [Fact]
    public void Sixteen_bit_colour_png_decodes_to_its_colours()
    {
        var planar = RgbImage.FromEncoded(Fixture("rgb16.png"), 16);

        Near(Pixel(planar, 16, 2, 8), (255, 0, 0));
        Near(Pixel(planar, 16, 13, 8), (0, 0, 255));
    }

    [Fact]
    public void Sixteen_bit_grayscale_png_becomes_three_equal_planes()
    {
        var planar = RgbImage.FromEncoded(Fixture("gray16.png"), 8);

        Near(Pixel(planar, 8, 4, 4), (128, 128, 128), tolerance: 3);
    }

    [Fact]
    public void Cmyk_jpeg_decodes_to_the_right_colour()
    {
        var planar = RgbImage.FromEncoded(Fixture("cmyk.jpg"), 16);

        Near(Pixel(planar, 16, 8, 8), (0, 255, 0), tolerance: 30);
    }

    [Fact]
    public void A_one_pixel_image_is_stretched_to_the_square()
    {
        var planar = RgbImage.FromEncoded(Fixture("one-pixel.png"), 8);

        Assert.All(planar, v => Assert.Equal(255, v));
    }

    [Fact]
    public void A_very_large_image_decodes_and_shrinks()
    {
        using var huge = new SKBitmap(new SKImageInfo(8000, 8000, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        huge.Erase(new SKColor(30, 160, 90));
        using var encoded = huge.Encode(SKEncodedImageFormat.Png, 1);

        var planar = RgbImage.FromEncoded(encoded.ToArray(), 32);

        Near(Pixel(planar, 32, 16, 16), (30, 160, 90), tolerance: 1);
    }

    [Theory]
    [InlineData("truncated.png")]
    [InlineData("truncated.jpg")]
    public void A_truncated_image_with_an_intact_header_is_refused_not_half_decoded(string name)
    {
        var error = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncoded(Fixture(name), 32));

        Assert.Contains("64x64 image is truncated or damaged", error.Message);
    }
}

using System.Diagnostics;
using EfficientNet.MLNet.Imaging;

namespace EfficientNet.MLNet.Tests.Imaging;

/// <summary>
/// Decompression bombs: a small PNG that declares 40000 x 40000 pixels (6.4 GB decoded) is refused from its header,
/// before any pixel is allocated, by the library's bytes path, Grad-CAM's overlay and the header check, with an error
/// that says what the limit is and how to change it; an image within the limit decodes as before.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public class ImageLimitsTests
{
    [Fact]
    public void A_small_file_declaring_40000_by_40000_pixels_is_refused_from_its_header()
    {
        var bomb = HostileImages.PngDeclaring(40_000, 40_000);
        var clock = Stopwatch.StartNew();

        var decoding = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncoded(bomb, 32));
        var header = Assert.Throws<InvalidDataException>(() => ImageLimits.CheckEncoded(bomb));
        var refused = Assert.IsType<ImageTooLargeException>(decoding.InnerException);

        Assert.True(bomb.Length < 200_000, $"{bomb.Length} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}: it decoded something");
        Assert.Equal((40_000, 40_000, ImageLimits.DefaultMaxPixels), (refused.Width, refused.Height, refused.MaxPixels));
        Assert.Contains("declares 40000x40000 = 1,600,000,000 pixels, more than the limit of 89,478,485", refused.Message);
        Assert.Contains(ImageLimits.MaxPixelsVariable, refused.Message);
        Assert.Equal(refused.Message, decoding.Message);
        Assert.Equal(refused.Message, header.Message);
    }

    public static TheoryData<string> Formats => new("PNG", "JPEG", "GIF", "WebP", "BMP");

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_bomb_of_every_format_is_refused_from_its_header_by_every_loader(string format)
    {
        var (_, bomb, width, height) = HostileImages.BombsOfEveryFormat().Single(b => b.Format == format);
        var clock = Stopwatch.StartNew();

        var decoding = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncoded(bomb, 32));
        var cropping = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncodedCentreCrop(bomb, 36, 32));
        var header = Assert.Throws<InvalidDataException>(() => ImageLimits.CheckEncoded(bomb));

        Assert.True(bomb.Length < 200_000, $"{bomb.Length} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}: it decoded something");
        foreach (var refusal in new[] { decoding, cropping, header })
        {
            var refused = Assert.IsType<ImageTooLargeException>(refusal.InnerException);
            Assert.Equal((width, height), (refused.Width, refused.Height));
        }
    }

    [Fact]
    public void A_very_wide_image_is_refused_by_the_centre_crop_with_its_shape_instead_of_overflowing()
    {
        var wide = HostileImages.PngDeclaring(60_000, 1); // within the decode budget; 15.4 million x 256 after the resize

        var refused = Assert.Throws<InvalidDataException>(() => RgbImage.FromEncodedCentreCrop(wide, 256, 224));

        Assert.Contains("the 60000x1 image is too elongated for the centre crop: resizing its shorter side to 256 makes it 15360000x256", refused.Message);
        Assert.Equal(3 * 32 * 32, RgbImage.FromEncoded(wide, 32).Length); // stretched to the square, it is scored
    }

    [Fact]
    public void An_image_within_the_limit_decodes_and_a_lower_limit_refuses_it()
    {
        var image = HostileImages.PngDeclaring(64, 48);
        var before = ImageLimits.MaxPixels;
        try
        {
            Assert.Equal(3 * 32 * 32, RgbImage.FromEncoded(image, 32).Length);
            Assert.Equal((64, 48), ImageLimits.CheckEncoded(image));

            ImageLimits.MaxPixels = 64 * 48 - 1;

            Assert.IsType<ImageTooLargeException>(Assert.Throws<InvalidDataException>(() => RgbImage.FromEncoded(image, 32)).InnerException);
            Assert.Throws<ArgumentOutOfRangeException>(() => ImageLimits.MaxPixels = 0);
        }
        finally
        {
            ImageLimits.MaxPixels = before;
        }
    }
}

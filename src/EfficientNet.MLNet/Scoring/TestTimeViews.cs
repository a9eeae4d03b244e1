using EfficientNet.MLNet.Imaging;

namespace EfficientNet.MLNet.Scoring;

/// <summary>
/// The views test-time augmentation scores, made from planar RGB bytes (3 x size x size) so that any engine scores
/// them: the images themselves; their mirror images; and for five crops, the four corners and the centre (7/8 of the
/// side, as torchvision's 224-of-256 crops) scaled back to the size with Pillow's bilinear filter, each mirrored too
/// unless the crops alone are asked for.
/// </summary>
internal static class TestTimeViews
{
    /// <summary>The crop's side as a fraction of the image's.</summary>
    public const double CropFraction = 0.875;

    /// <summary>Batches of views, one batch per view, each in the images' order; the first is the images themselves.</summary>
    public static IReadOnlyList<IReadOnlyList<byte[]>> Of(IReadOnlyList<byte[]> images, int size, TestTimeAugmentation views)
    {
        var unmirrored = new List<IReadOnlyList<byte[]>> { images };
        if (views is TestTimeAugmentation.FlipAndFiveCrops or TestTimeAugmentation.FiveCrops)
        {
            var crop = (int)Math.Round(size * CropFraction);
            var far = size - crop;
            foreach (var (top, left) in new[] { (0, 0), (0, far), (far, 0), (far, far), (far / 2, far / 2) })
                unmirrored.Add(images.Select(image => Crop(image, size, top, left, crop)).ToList());
        }
        if (views is TestTimeAugmentation.None or TestTimeAugmentation.FiveCrops)
            return unmirrored;
        return unmirrored.Concat(unmirrored.Select(batch => (IReadOnlyList<byte[]>)batch.Select(image => Mirror(image, size)).ToList())).ToList();
    }

    /// <summary>The image mirrored left to right.</summary>
    public static byte[] Mirror(byte[] image, int size)
    {
        var mirrored = new byte[image.Length];
        for (var row = 0; row < 3 * size; row++)
        {
            var source = image.AsSpan(row * size, size);
            var target = mirrored.AsSpan(row * size, size);
            for (var x = 0; x < size; x++)
                target[x] = source[size - 1 - x];
        }
        return mirrored;
    }

    /// <summary>The crop x crop square at (top, left), scaled back to size x size.</summary>
    public static byte[] Crop(byte[] image, int size, int top, int left, int crop)
    {
        var plane = size * size;
        var interleaved = new byte[3 * crop * crop];
        for (var y = 0; y < crop; y++)
            for (var x = 0; x < crop; x++)
                for (var c = 0; c < 3; c++)
                    interleaved[3 * (y * crop + x) + c] = image[c * plane + (top + y) * size + left + x];
        var resized = Resampling.ResizeRgb(interleaved, crop, crop, size, size, ResizeInterpolation.Bilinear);
        var planar = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                planar[c * plane + i] = resized[3 * i + c];
        return planar;
    }
}

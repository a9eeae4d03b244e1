using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The image operations of the augmentation policies, on one (1, 3, H, W) float image with values 0..255, with
/// torchvision's definitions (<c>transforms.functional</c>): photometric ones blend with a grey, blurred or mean image
/// and clamp to 0..255; geometric ones resample bilinearly about the centre and fill with black. Constants go through
/// <see cref="Scalars"/> (these run on the prefetch thread, where a collection can come at any moment).
/// </summary>
internal static class ImageOperations
{
    static readonly float[] SharpnessKernel = { 1, 1, 1, 1, 5, 1, 1, 1, 1 };

    /// <summary>Samples the input at (a x + b y + tx, c x + d y + ty) for each output point (x, y), in coordinates -1..1.</summary>
    public static Tensor Affine(Tensor image, double a, double b, double c, double d, double tx, double ty)
    {
        using var theta = tensor(new[] { (float)a, (float)b, (float)tx, (float)c, (float)d, (float)ty }, device: image.device).view(1, 2, 3);
        using var grid = nn.functional.affine_grid(theta, image.shape, align_corners: false);
        return nn.functional.grid_sample(image, grid, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Zeros, align_corners: false);
    }

    public static Tensor ShearX(Tensor image, double shear) => Affine(image, 1, shear, 0, 1, 0, 0);

    public static Tensor ShearY(Tensor image, double shear) => Affine(image, 1, 0, shear, 1, 0, 0);

    /// <summary>Moves the content by (dx, dy) pixels.</summary>
    public static Tensor Translate(Tensor image, double dx, double dy) =>
        Affine(image, 1, 0, 0, 1, -2 * dx / image.shape[3], -2 * dy / image.shape[2]);

    /// <summary>Rotates a square image by <paramref name="degrees"/> about its centre.</summary>
    public static Tensor Rotate(Tensor image, double degrees)
    {
        var radians = degrees * Math.PI / 180;
        return Affine(image, Math.Cos(radians), -Math.Sin(radians), Math.Sin(radians), Math.Cos(radians), 0, 0);
    }

    /// <summary>torchvision's _blend: factor x image + (1 - factor) x other, clamped to 0..255.</summary>
    static Tensor Blend(Tensor image, Tensor other, double factor)
    {
        using var difference = image.sub(other);
        using var scaled = difference.mul(Scalars.Of(factor));
        return scaled.add(other, Scalars.One).clamp(Scalars.Of(0), Scalars.Of(255));
    }

    /// <summary>Luma with torchvision's tensor weights (rgb_to_grayscale: 0.2989, 0.587, 0.114), (1, 1, H, W).</summary>
    public static Tensor Grey(Tensor image)
    {
        using var red = image.narrow(1, 0, 1).mul(Scalars.Of(0.2989));
        using var green = image.narrow(1, 1, 1).mul(Scalars.Of(0.587));
        using var blue = image.narrow(1, 2, 1).mul(Scalars.Of(0.114));
        using var redGreen = red.add(green, Scalars.One);
        return redGreen.add(blue, Scalars.One);
    }

    public static Tensor Brightness(Tensor image, double factor) => image.mul(Scalars.Of(factor)).clamp(Scalars.Of(0), Scalars.Of(255));

    public static Tensor Saturation(Tensor image, double factor)
    {
        using var grey = Grey(image);
        return Blend(image, grey, factor);
    }

    public static Tensor Contrast(Tensor image, double factor)
    {
        using var grey = Grey(image);
        using var mean = grey.mean();
        return Blend(image, mean, factor);
    }

    /// <summary>Blends with a smoothed image (3 x 3 kernel, centre 5, border pixels kept), as PIL's and torchvision's sharpness.</summary>
    public static Tensor Sharpness(Tensor image, double factor)
    {
        using var kernel = tensor(SharpnessKernel, device: image.device).div(Scalars.Of(13)).view(1, 1, 3, 3).expand(3, 1, 3, 3).contiguous();
        using var smooth = nn.functional.conv2d(image, kernel, groups: 3);
        using var degenerate = image.clone();
        degenerate.narrow(2, 1, image.shape[2] - 2).narrow(3, 1, image.shape[3] - 2).copy_(smooth);
        return Blend(image, degenerate, factor);
    }

    /// <summary>Keeps the top <paramref name="bits"/> bits of each 8-bit value.</summary>
    public static Tensor Posterize(Tensor image, int bits)
    {
        var step = Scalars.Of(1 << (8 - bits));
        using var levels = image.div(step).floor_();
        return levels.mul(step);
    }

    /// <summary>Inverts the values at or above <paramref name="threshold"/>.</summary>
    public static Tensor Solarize(Tensor image, double threshold)
    {
        using var inverted = image.neg().add_(Scalars.Of(255));
        using var above = image.ge(Scalars.Of(threshold));
        return where(above, inverted, image);
    }

    /// <summary>Stretches each channel to 0..255 (a constant channel stays as it is).</summary>
    public static Tensor AutoContrast(Tensor image)
    {
        using var minimum = image.amin(new long[] { 2, 3 }, keepdim: true);
        using var maximum = image.amax(new long[] { 2, 3 }, keepdim: true);
        using var range = maximum.sub(minimum);
        using var constant = range.le(Scalars.Of(0));
        using var safeRange = where(constant, ones_like(range), range);
        using var scale = where(constant, ones_like(range), safeRange.reciprocal().mul_(Scalars.Of(255)));
        using var shift = where(constant, zeros_like(minimum), minimum);
        using var shifted = image.sub(shift);
        return shifted.mul(scale).clamp(Scalars.Of(0), Scalars.Of(255));
    }

    /// <summary>Histogram equalization of each channel over the rounded 0..255 values, as PIL's and torchvision's equalize.</summary>
    public static Tensor Equalize(Tensor image)
    {
        var channels = new List<Tensor>();
        try
        {
            for (var channel = 0; channel < 3; channel++)
            {
                using var values = image.select(1, channel).round().clamp(Scalars.Of(0), Scalars.Of(255)).to(ScalarType.Int64).flatten();
                using var histogram = values.bincount(null, 256);
                var lookup = EqualizationTable(histogram.cpu().data<long>().ToArray());
                if (lookup is null)
                {
                    channels.Add(image.narrow(1, channel, 1).clone());
                    continue;
                }
                using var table = tensor(lookup, device: image.device);
                channels.Add(table.index_select(0, values).view(1, 1, image.shape[2], image.shape[3]));
            }
            return cat(channels, 1);
        }
        finally
        {
            foreach (var channel in channels) channel.Dispose();
        }
    }

    // torchvision's _scale_channel: null when the channel has a single value (nothing to equalize).
    static float[]? EqualizationTable(long[] histogram)
    {
        var last = Array.FindLastIndex(histogram, count => count > 0);
        var step = (histogram.Sum() - histogram[last]) / 255;
        if (step == 0)
            return null;
        var table = new float[256];
        long cumulative = 0;
        for (var value = 0; value < 256; value++)
        {
            table[value] = Math.Min(255, (cumulative + step / 2) / step);
            cumulative += histogram[value];
        }
        return table;
    }
}

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// Image resizing as Pillow does it, which is what torchvision's Resize does to a PIL image and so what its pretrained
/// weights saw: a separable convolution, horizontal pass then vertical, whose filter is widened by the scale when
/// shrinking (antialiasing), with weights normalized per output pixel and 8-bit rounding after each pass (Pillow's
/// 22-bit fixed point). Written from Pillow's documented algorithm (libImaging/Resample.c); the tests compare its
/// pixels with torchvision's on a real photograph.
/// </summary>
internal static class Resampling
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes interleaved RGB bytes (3 per pixel) from width x height to newWidth x newHeight.</summary>
    public static byte[] ResizeRgb(byte[] rgb, int width, int height, int newWidth, int newHeight, ResizeInterpolation interpolation)
    {
        if (rgb.Length != 3 * width * height)
            throw new ArgumentException($"expected {3 * width * height} bytes for {width}x{height} RGB, got {rgb.Length}", nameof(rgb));
        var horizontal = newWidth == width ? rgb : Pass(rgb, width, height, newWidth, interpolation, horizontalPass: true);
        return newHeight == height ? horizontal : Pass(horizontal, newWidth, height, newHeight, interpolation, horizontalPass: false);
    }

    // One pass along x (horizontalPass) or y, from `size` to `newSize` samples, the other axis unchanged.
    static byte[] Pass(byte[] source, int width, int height, int newSize, ResizeInterpolation interpolation, bool horizontalPass)
    {
        var (inSize, across) = horizontalPass ? (width, height) : (height, width);
        var (bounds, weights, taps) = Coefficients(inSize, newSize, interpolation);
        var (outWidth, outHeight) = horizontalPass ? (newSize, height) : (width, newSize);
        var result = new byte[3 * outWidth * outHeight];
        for (var line = 0; line < across; line++)
            for (var o = 0; o < newSize; o++)
            {
                var (first, count) = bounds[o];
                for (var c = 0; c < 3; c++)
                {
                    long sum = 1L << (PrecisionBits - 1);
                    for (var k = 0; k < count; k++)
                    {
                        var i = first + k;
                        var pixel = horizontalPass ? line * width + i : i * width + line;
                        sum += source[3 * pixel + c] * (long)weights[o * taps + k];
                    }
                    var value = sum >> PrecisionBits;
                    var target = horizontalPass ? line * outWidth + o : o * outWidth + line;
                    result[3 * target + c] = (byte)Math.Clamp(value, 0, 255);
                }
            }
        return result;
    }

    // For each output sample: the first input sample and how many contribute, and their fixed-point weights.
    static ((int First, int Count)[] Bounds, int[] Weights, int Taps) Coefficients(int inSize, int outSize, ResizeInterpolation interpolation)
    {
        var (support, filter) = interpolation == ResizeInterpolation.Bicubic ? (2.0, (Func<double, double>)Cubic) : (1.0, Triangle);
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        var taps = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new (int, int)[outSize];
        var weights = new int[outSize * taps];
        var kernel = new double[taps];
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            // C's (int) truncates toward zero, as Pillow's does.
            var first = Math.Max((int)(center - support + 0.5), 0);
            var count = Math.Min((int)(center + support + 0.5), inSize) - first;
            double total = 0;
            for (var k = 0; k < count; k++)
            {
                kernel[k] = filter((k + first - center + 0.5) / filterScale);
                total += kernel[k];
            }
            for (var k = 0; k < count; k++)
            {
                var w = total != 0 ? kernel[k] / total : 0;
                weights[o * taps + k] = (int)(w < 0 ? -0.5 + w * (1 << PrecisionBits) : 0.5 + w * (1 << PrecisionBits));
            }
            bounds[o] = (first, count);
        }
        return (bounds, weights, taps);
    }

    static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1 ? 1 - x : 0;
    }

    static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}

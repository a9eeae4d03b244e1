using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Mixup and CutMix of one batch (timm's batch mode): every image is combined with the image at the mirrored position,
/// with one lambda for the batch; <see cref="Targets"/> gives the matching label-smoothed soft targets.
/// </summary>
internal static class BatchMixing
{
    /// <summary>
    /// The mixed (N, 3, H, W) batch and lambda, the share of each image's own content (1: the batch as it was, returned
    /// as an alias). CutMix's lambda is the exact share of the area kept, after clipping the box to the image.
    /// </summary>
    public static (Tensor Pixels, double Lambda) Mix(Tensor pixels, Mixup mixup, Random random)
    {
        if (pixels.shape[0] < 2 || random.NextDouble() >= mixup.Probability)
            return (pixels.alias(), 1);
        var cutMix = mixup.CutMixAlpha > 0 && (mixup.MixupAlpha == 0 || random.NextDouble() < mixup.SwitchProbability);
        var lambda = BetaDistribution.Sample(random, cutMix ? mixup.CutMixAlpha : mixup.MixupAlpha);
        using var mirrored = pixels.flip(0);
        if (!cutMix)
        {
            using var weight = tensor((float)lambda, device: pixels.device);
            return (mirrored.lerp(pixels, weight), lambda);
        }
        var (height, width) = (pixels.shape[2], pixels.shape[3]);
        var ratio = Math.Sqrt(1 - lambda);
        var (cutHeight, cutWidth) = ((long)(height * ratio), (long)(width * ratio));
        var (centreY, centreX) = (random.NextInt64(height), random.NextInt64(width));
        var (top, bottom) = (Math.Clamp(centreY - cutHeight / 2, 0, height), Math.Clamp(centreY + cutHeight / 2, 0, height));
        var (left, right) = (Math.Clamp(centreX - cutWidth / 2, 0, width), Math.Clamp(centreX + cutWidth / 2, 0, width));
        var mixed = pixels.clone();
        if (bottom > top && right > left)
        {
            using var box = mixed.narrow(2, top, bottom - top).narrow(3, left, right - left);
            using var source = mirrored.narrow(2, top, bottom - top).narrow(3, left, right - left);
            box.copy_(source);
        }
        return (mixed, 1 - (double)(bottom - top) * (right - left) / (height * width));
    }

    /// <summary>
    /// Soft targets (N, classes): lambda x smooth(own label) + (1 - lambda) x smooth(mirrored image's label), where
    /// smooth puts 1 - smoothing + smoothing / classes on the label and smoothing / classes elsewhere. Rows sum to 1;
    /// with lambda 1 this is the label-smoothed target of cross_entropy(label_smoothing).
    /// </summary>
    public static float[] Targets(long[] labels, int classes, double lambda, double smoothing)
    {
        var count = labels.Length;
        var off = smoothing / classes;
        var peak = 1 - smoothing;
        var targets = new float[count * classes];
        for (var i = 0; i < count; i++)
        {
            var row = targets.AsSpan(i * classes, classes);
            var values = new double[classes];
            Array.Fill(values, off);
            values[labels[i]] += lambda * peak;
            values[labels[count - 1 - i]] += (1 - lambda) * peak;
            for (var c = 0; c < classes; c++) row[c] = (float)values[c];
        }
        return targets;
    }

    /// <summary>Each mixed image's loss weight: lambda x its own weight + (1 - lambda) x the mirrored image's.</summary>
    public static float[] Weights(float[] weights, double lambda)
    {
        var count = weights.Length;
        return Enumerable.Range(0, count).Select(i => (float)(lambda * weights[i] + (1 - lambda) * weights[count - 1 - i])).ToArray();
    }
}

using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Mixup and CutMix of one batch (timm's batch mode): every image is combined with the image at the mirrored position,
/// with one lambda for the batch; <see cref="Targets"/> gives the matching label-smoothed soft targets (one-hot or multi-hot).
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
    /// Soft targets (N, width): lambda x smooth(own labels) + (1 - lambda) x smooth(mirrored image's labels), where
    /// smooth puts 1 - smoothing + smoothing x share on each label a row has and smoothing x share elsewhere. With share
    /// 1 / classes and one label a row, rows sum to 1 and lambda 1 gives cross_entropy(label_smoothing)'s target; with
    /// share 1/2, several labels a row, each label's target is smoothed towards 1/2 (multi-label).
    /// </summary>
    public static float[] Targets(IReadOnlyList<int[]> labels, int width, double lambda, double smoothing, double smoothingShare)
    {
        var count = labels.Count;
        var off = smoothing * smoothingShare;
        var peak = 1 - smoothing;
        var targets = new float[count * width];
        var values = new double[width];
        for (var i = 0; i < count; i++)
        {
            Array.Fill(values, off);
            foreach (var label in labels[i])
                values[label] += lambda * peak;
            foreach (var label in labels[count - 1 - i])
                values[label] += (1 - lambda) * peak;
            var row = targets.AsSpan(i * width, width);
            for (var c = 0; c < width; c++) row[c] = (float)values[c];
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

using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// torchvision's RandomErasing with its defaults: with the given probability, a rectangle of 2% to 33% of the image's
/// area, aspect ratio 0.3 to 3.3 (log-uniform), at a random place, is filled with a constant colour (here the
/// normalization's mean, which is torchvision's value 0 after normalizing); ten tries to fit a box, else the image stays.
/// </summary>
internal sealed class RandomErasing
{
    private readonly double probability;
    private readonly float[] fill;

    /// <param name="probability">The chance an image is erased.</param>
    /// <param name="fill">The colour, R, G, B in 0..255.</param>
    public RandomErasing(double probability, float[] fill)
    {
        this.probability = probability;
        this.fill = fill;
    }

    /// <summary>Erases a box of the (1, 3, H, W) image in place, or leaves it; returns whether it erased.</summary>
    public bool Apply(Tensor image, Random random)
    {
        if (random.NextDouble() >= probability)
            return false;
        var (height, width) = ((int)image.shape[2], (int)image.shape[3]);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var area = height * width * (0.02 + (0.33 - 0.02) * random.NextDouble());
            var ratio = Math.Exp(Math.Log(0.3) + (Math.Log(3.3) - Math.Log(0.3)) * random.NextDouble());
            var boxHeight = (int)Math.Round(Math.Sqrt(area * ratio));
            var boxWidth = (int)Math.Round(Math.Sqrt(area / ratio));
            if (boxHeight < 1 || boxWidth < 1 || boxHeight >= height || boxWidth >= width)
                continue;
            var top = random.Next(height - boxHeight + 1);
            var left = random.Next(width - boxWidth + 1);
            using var colour = tensor(fill, device: image.device).view(1, 3, 1, 1);
            using var box = image.narrow(2, top, boxHeight).narrow(3, left, boxWidth);
            box.copy_(colour.expand(1, 3, boxHeight, boxWidth));
            return true;
        }
        return false;
    }
}

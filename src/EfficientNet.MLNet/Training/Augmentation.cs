using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Training-time augmentation on a (N, 3, S, S) float batch: a random resized crop (area fraction in
/// [minimum scale, 1], aspect ratio in [3/4, 4/3], resized to the output size: S, or a progressive-learning stage's) and
/// (unless turned off) a horizontal flip with probability 0.5, drawn per image from the trainer's seeded random source.
/// </summary>
internal sealed class Augmentation
{
    private readonly Random random;
    private readonly double minimumScale;
    private readonly int? outputSize;
    private readonly bool flip;

    public Augmentation(Random random, double minimumScale, int? outputSize = null, bool flip = true)
    {
        this.random = random;
        this.minimumScale = minimumScale;
        this.outputSize = outputSize;
        this.flip = flip;
    }

    public Tensor Apply(Tensor batch)
    {
        using var scope = NewDisposeScope();
        var size = (int)batch.shape[3];
        var output = outputSize ?? size;
        var images = new List<Tensor>();
        for (var i = 0; i < batch.shape[0]; i++)
        {
            var (top, left, height, width) = CropBox(size);
            var crop = batch[i].narrow(1, top, height).narrow(2, left, width).unsqueeze(0);
            if (height != output || width != output)
                crop = Resize(crop, output);
            if (flip && random.NextDouble() < 0.5)
                crop = crop.flip(3);
            images.Add(crop);
        }
        return cat(images, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Bilinear resize of a (N, 3, H, W) batch, antialiased when it shrinks (as Pillow and torchvision resize).</summary>
    public static Tensor Resize(Tensor images, int size) =>
        nn.functional.interpolate(images, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false,
            antialias: images.shape[2] > size || images.shape[3] > size);

    (int Top, int Left, int Height, int Width) CropBox(int size)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var area = size * size * (minimumScale + (1 - minimumScale) * random.NextDouble());
            var logRatio = Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * random.NextDouble();
            var ratio = Math.Exp(logRatio);
            var width = (int)Math.Round(Math.Sqrt(area * ratio));
            var height = (int)Math.Round(Math.Sqrt(area / ratio));
            if (width > 0 && width <= size && height > 0 && height <= size)
                return (random.Next(size - height + 1), random.Next(size - width + 1), height, width);
        }
        return (0, 0, size, size);
    }
}

using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// TrivialAugmentWide, RandAugment and AugMix on one (1, 3, S, S) float image (0..255), as torchvision defines them: the same
/// fourteen operations, 31 strength levels, a random sign for the signed ones. Two deliberate differences: translations
/// are a fraction of the image size (torchvision's wide space moves 32 pixels at any size, half of a 64-pixel image) and
/// resampling is bilinear (torchvision's default is nearest). Written here because TorchSharp's TorchVision 0.107 never
/// applies the sign in TrivialAugmentWide, blends contrast and saturation in the wrong range, resamples affine
/// operations with nearest only, and applies one draw to a whole batch (see the README).
/// </summary>
internal sealed class AutoAugmentation
{
    /// <summary>Strength levels (torchvision's num_magnitude_bins).</summary>
    public const int Levels = 31;

    /// <summary>The operations, in torchvision's order.</summary>
    public enum Operation { Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize }

    static readonly Operation[] All = Enum.GetValues<Operation>();

    private readonly AugmentationPolicy policy;
    private readonly int operations;
    private readonly int magnitude;

    public AutoAugmentation(AugmentationPolicy policy, int operations, int magnitude)
    {
        this.policy = policy;
        this.operations = operations;
        this.magnitude = magnitude;
    }

    /// <summary>AugMix: chains mixed per image, operations per chain (1 to this), and strength (of 10).</summary>
    const int AugMixWidth = 3, AugMixDepth = 3, AugMixSeverity = 3;

    /// <summary>The image after the policy's operations, drawn from <paramref name="random"/>.</summary>
    public Tensor Apply(Tensor image, Random random)
    {
        if (policy == AugmentationPolicy.TrivialAugmentWide)
            return Apply(image, All[random.Next(All.Length)], random.Next(Levels), wide: true, random);
        if (policy == AugmentationPolicy.AugMix)
            return AugMix(image, random);
        var current = image.alias();
        for (var i = 0; i < operations; i++)
        {
            var next = Apply(current, All[random.Next(All.Length)], magnitude, wide: false, random);
            current.Dispose();
            current = next;
        }
        return current;
    }

    // torchvision's AugMix: sum of w_i x chain_i(image), w ~ Dirichlet(1, 1, 1), then m x image + (1 - m) x mixture, m ~ Beta(1, 1).
    // The weights are 0-dimensional tensors: continuous values would fill the lasting Scalar cache.
    static Tensor AugMix(Tensor image, Random random)
    {
        var gammas = Enumerable.Range(0, AugMixWidth).Select(_ => BetaDistribution.Gamma(random, 1)).ToArray();
        var mixture = zeros_like(image);
        foreach (var gamma in gammas)
        {
            var chain = image.alias();
            for (var depth = random.Next(1, AugMixDepth + 1); depth > 0; depth--)
            {
                // Levels 0 to severity/10 of the range (torchvision: magnitude bins up to the severity).
                var next = Apply(chain, All[random.Next(1, All.Length)], random.Next(AugMixSeverity * (Levels - 1) / 10 + 1), wide: false, random);
                chain.Dispose();
                chain = next;
            }
            using (chain)
            using (var weight = tensor((float)(gamma / gammas.Sum()), device: image.device))
            using (var weighted = chain.mul(weight))
                mixture.add_(weighted, Scalars.One);
        }
        var keep = BetaDistribution.Sample(random, 1);
        using (mixture)
        using (var keepWeight = tensor((float)(1 - keep), device: image.device))
            return image.lerp(mixture, keepWeight);
    }

    /// <summary>One operation at strength <paramref name="level"/> (0 to 30) in the wide (TrivialAugment) or RandAugment range.</summary>
    public static Tensor Apply(Tensor image, Operation operation, int level, bool wide, Random random)
    {
        var fraction = (double)level / (Levels - 1);
        // torchvision draws the sign only for the signed operations.
        double Signed(double maximum) => (random.Next(2) == 1 ? -1 : 1) * maximum * fraction;
        var size = image.shape[3];
        return operation switch
        {
            Operation.ShearX => ImageOperations.ShearX(image, Signed(wide ? 0.99 : 0.3)),
            Operation.ShearY => ImageOperations.ShearY(image, Signed(wide ? 0.99 : 0.3)),
            Operation.TranslateX => ImageOperations.Translate(image, Signed(size * (wide ? 32.0 / 224 : 150.0 / 331)), 0),
            Operation.TranslateY => ImageOperations.Translate(image, 0, Signed(size * (wide ? 32.0 / 224 : 150.0 / 331))),
            Operation.Rotate => ImageOperations.Rotate(image, Signed(wide ? 135 : 30)),
            Operation.Brightness => ImageOperations.Brightness(image, 1 + Signed(wide ? 0.99 : 0.9)),
            Operation.Color => ImageOperations.Saturation(image, 1 + Signed(wide ? 0.99 : 0.9)),
            Operation.Contrast => ImageOperations.Contrast(image, 1 + Signed(wide ? 0.99 : 0.9)),
            Operation.Sharpness => ImageOperations.Sharpness(image, 1 + Signed(wide ? 0.99 : 0.9)),
            // torchvision: 8 - round(level / ((levels - 1) / 6)) bits in the wide space (8 to 2), / 4 otherwise (8 to 4).
            Operation.Posterize => ImageOperations.Posterize(image, 8 - (int)Math.Round(level / ((Levels - 1) / (wide ? 6.0 : 4.0)), MidpointRounding.ToEven)),
            Operation.Solarize => ImageOperations.Solarize(image, 255 * (1 - fraction)),
            Operation.AutoContrast => ImageOperations.AutoContrast(image),
            Operation.Equalize => ImageOperations.Equalize(image),
            _ => image.alias(),
        };
    }
}

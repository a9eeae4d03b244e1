namespace EfficientNet.MLNet.Training;

/// <summary>
/// Draws from Beta(alpha, alpha) (and Gamma, for AugMix's Dirichlet weights) with a seeded <see cref="Random"/> (numpy's way for mixup: X / (X + Y) with X and Y
/// from Gamma(alpha)), so that a run's mixing is reproducible and independent of libtorch's generators.
/// </summary>
internal static class BetaDistribution
{
    public static double Sample(Random random, double alpha)
    {
        var x = Gamma(random, alpha);
        var y = Gamma(random, alpha);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    /// <summary>A draw from Gamma(shape, 1): Marsaglia and Tsang (2000); for shape &lt; 1, Gamma(shape + 1) x U^(1 / shape).</summary>
    public static double Gamma(Random random, double shape)
    {
        if (shape < 1)
            return Gamma(random, shape + 1) * Math.Pow(1 - random.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = 1 - random.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
                return d * v;
        }
    }

    static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

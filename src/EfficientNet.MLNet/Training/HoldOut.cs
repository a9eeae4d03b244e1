namespace EfficientNet.MLNet.Training;

/// <summary>Which rows are held out for validation: a seeded hash of the row number, so no pass needs to remember them.</summary>
internal sealed record HoldOut(double Fraction, int Seed)
{
    public bool IsValidation(long row)
    {
        // SplitMix64 of (seed, row): well mixed, so every row is held out independently with probability Fraction.
        var z = unchecked((ulong)row + 0x9E3779B97F4A7C15UL * (ulong)(uint)Seed + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53)) < Fraction;
    }
}

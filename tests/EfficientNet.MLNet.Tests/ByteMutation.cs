namespace EfficientNet.MLNet.Tests;

/// <summary>The damage the fuzz tests do to a file: flipped bits or a cut, seeded.</summary>
internal static class ByteMutation
{
    /// <summary>
    /// Flips one bit in each of 1 to 4 distinct bytes in [start, end) (distinct, so two flips never cancel out), or
    /// (one case in four) cuts the data somewhere in that range.
    /// </summary>
    public static byte[] FlipOrCut(byte[] data, Random random, (int Start, int End)? range = null)
    {
        var (start, end) = range ?? (0, data.Length);
        var mutated = (byte[])data.Clone();
        if (random.Next(4) == 0)
            return mutated[..(start + random.Next(end - start))];
        var positions = new HashSet<int>();
        for (var count = Math.Min(random.Next(1, 5), end - start); positions.Count < count;)
            positions.Add(start + random.Next(end - start));
        foreach (var position in positions)
            mutated[position] ^= (byte)(1 << random.Next(8));
        return mutated;
    }
}

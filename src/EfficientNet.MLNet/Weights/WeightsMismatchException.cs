namespace EfficientNet.MLNet.Weights;

/// <summary>Weights do not fit the model: names missing or unexpected, or shapes that differ. Nothing was loaded.</summary>
public sealed class WeightsMismatchException : EfficientNetException
{
    /// <summary>Creates the exception from a comparison of the file with the model.</summary>
    public WeightsMismatchException(string source, WeightComparison comparison, string advice)
        : base(Describe(source, comparison, advice))
    {
        WeightsSource = source;
        Comparison = comparison;
    }

    /// <summary>Where the weights came from (usually a file path).</summary>
    public string WeightsSource { get; }

    /// <summary>What differs, name by name.</summary>
    public WeightComparison Comparison { get; }

    static string Describe(string source, WeightComparison comparison, string advice)
    {
        const int shown = 10;
        static string List(IEnumerable<string> names) => string.Join(", ", names.Take(shown)) + (names.Count() > shown ? $", ... ({names.Count()} in all)" : "");
        var parts = new List<string>();
        if (comparison.Missing.Count > 0) parts.Add($"missing from the weights: {List(comparison.Missing)}");
        if (comparison.Unexpected.Count > 0) parts.Add($"not in the model: {List(comparison.Unexpected)}");
        if (comparison.ShapeMismatched.Count > 0)
            parts.Add($"different shapes: {List(comparison.ShapeMismatched.Select(m => $"{m.Name} (model [{string.Join(", ", m.ModelShape)}], weights [{string.Join(", ", m.WeightsShape)}])"))}");
        return $"The weights in '{source}' do not fit the model; nothing was loaded. {string.Join("; ", parts)}. {advice}";
    }
}

namespace EfficientNet.MLNet.Weights;

/// <summary>A shape difference between the model and the weights for one name.</summary>
/// <param name="Name">The state_dict name.</param>
/// <param name="ModelShape">The model's shape.</param>
/// <param name="WeightsShape">The shape in the weights.</param>
public sealed record ShapeMismatch(string Name, long[] ModelShape, long[] WeightsShape);

/// <summary>How a set of named weights compares with a model's state_dict, name by name.</summary>
/// <param name="Matching">Names present in both with the same shape.</param>
/// <param name="Missing">Names the model has and the weights lack.</param>
/// <param name="Unexpected">Names the weights have and the model lacks.</param>
/// <param name="ShapeMismatched">Names in both whose shapes differ.</param>
public sealed record WeightComparison(
    IReadOnlyList<string> Matching,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatched)
{
    /// <summary>True when every name and shape matches.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatched.Count == 0;

    /// <summary>Compares model names and shapes with weight names and shapes (order does not matter).</summary>
    public static WeightComparison Of(IReadOnlyDictionary<string, long[]> model, IReadOnlyDictionary<string, long[]> weights)
    {
        var matching = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        foreach (var (name, shape) in model)
        {
            if (!weights.TryGetValue(name, out var weightShape))
                missing.Add(name);
            else if (!shape.SequenceEqual(weightShape))
                mismatched.Add(new ShapeMismatch(name, shape, weightShape));
            else
                matching.Add(name);
        }
        var unexpected = weights.Keys.Where(name => !model.ContainsKey(name)).ToList();
        return new WeightComparison(matching, missing, unexpected, mismatched);
    }
}

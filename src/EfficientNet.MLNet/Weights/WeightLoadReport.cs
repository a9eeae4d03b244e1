namespace EfficientNet.MLNet.Weights;

/// <summary>What a load did.</summary>
/// <param name="Source">Where the weights came from.</param>
/// <param name="Loaded">The names copied into the model.</param>
/// <param name="KeptFromModel">Classifier names left as the model had them (only with <see cref="WeightLoadMode.KeepNewClassifier"/>).</param>
public sealed record WeightLoadReport(string Source, IReadOnlyList<string> Loaded, IReadOnlyList<string> KeptFromModel);

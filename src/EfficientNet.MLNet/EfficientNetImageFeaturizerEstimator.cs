using EfficientNet.MLNet.MLNetInternals;
using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet;

/// <summary>
/// Makes an <see cref="EfficientNetImageFeaturizer"/>: nothing is learned, so Fit only checks the image column and builds
/// (or, for a trained classifier, wraps) the network. Create it with <c>mlContext.Transforms.EfficientNetFeaturizeImage(...)</c>.
/// </summary>
public sealed class EfficientNetImageFeaturizerEstimator : IEstimator<EfficientNetImageFeaturizer>
{
    private readonly string outputColumnName;
    private readonly string inputColumnName;
    private readonly Func<EfficientNetImageFeaturizer> create;
    private readonly int featureCount;

    internal EfficientNetImageFeaturizerEstimator(string outputColumnName, string inputColumnName, Func<EfficientNetImageFeaturizer> create, int featureCount)
    {
        this.outputColumnName = string.IsNullOrWhiteSpace(outputColumnName) ? throw new ArgumentException("Name the output column.", nameof(outputColumnName)) : outputColumnName;
        this.inputColumnName = string.IsNullOrWhiteSpace(inputColumnName) ? throw new ArgumentException("Name the image column.", nameof(inputColumnName)) : inputColumnName;
        this.create = create;
        this.featureCount = featureCount;
    }

    /// <inheritdoc />
    public EfficientNetImageFeaturizer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumn.Find(input.Schema, inputColumnName);
        return create();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (inputSchema.Where(c => c.Name == inputColumnName).Select(c => (SchemaShape.Column?)c).LastOrDefault() is not { } image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The image column '{inputColumnName}' is not in the data (columns: {string.Join(", ", inputSchema.Select(c => c.Name))}).");
        if (ImageColumn.ProblemWith(image) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), problem);
        var columns = inputSchema.Where(c => c.Name != outputColumnName).ToList();
        columns.Add(MLNetEnvironment.Column(outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false));
        return new SchemaShape(columns);
    }

    /// <summary>The length of the feature vectors (the network's head channels).</summary>
    public int FeatureCount => featureCount;
}

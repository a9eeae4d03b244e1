using EfficientNet.MLNet.MLNetInternals;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace EfficientNet.MLNet;

/// <summary>
/// Maps an image column (MLImage, encoded bytes, or 3 x H x W float pixels) to an EfficientNet's pooled feature vector:
/// the head convolution's channels averaged over the image (1280 for b0, 2560 for b7), what the classifier reads. Made
/// by <c>mlContext.Transforms.EfficientNetFeaturizeImage(...)</c>; batched and lazy like the classifier, saved and loaded
/// in the model zip with its network. Scores on the network's engine (<see cref="EfficientNetTransformer.ScoringEngine"/>:
/// ONNX Runtime on a CPU when the application has it); test-time augmentation does not apply.
/// </summary>
public sealed class EfficientNetImageFeaturizer : ITransformer, IDisposable, IImageScorer
{
    private readonly bool ownsNetwork;
    private bool disposed;

    internal EfficientNetImageFeaturizer(EfficientNetTransformer network, string inputColumnName, string outputColumnName, bool ownsNetwork)
    {
        Network = network;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        this.ownsNetwork = ownsNetwork;
        FeatureCount = EfficientNetArchitecture.Plan(network.Scaling).HeadChannels;
    }

    /// <summary>
    /// The network the features come from, as a classifier (its classes are the weights' own: ImageNet's for pretrained
    /// weights, the trained model's for a zip's); its <see cref="EfficientNetTransformer.ScoringEngine"/>,
    /// <see cref="EfficientNetTransformer.InferenceBatchSize"/> and <see cref="EfficientNetTransformer.ScoringThreads"/>
    /// apply to the featurizer too.
    /// </summary>
    public EfficientNetTransformer Network { get; }

    /// <summary>The image column.</summary>
    public string InputColumnName { get; }

    /// <summary>The output column: a vector of <see cref="FeatureCount"/> Single values.</summary>
    public string OutputColumnName { get; }

    /// <summary>The length of each feature vector: the network's head channels.</summary>
    public int FeatureCount { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    string IImageScorer.FeatureColumnName => InputColumnName;
    int IImageScorer.ImageSize => Network.ImageSize;
    int IImageScorer.InferenceBatchSize => Network.InferenceBatchSize;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ImageColumn.Find(inputSchema, InputColumnName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, FeatureCount));
        return builder.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(disposed, this);
        return new ScoredDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new ScoringRowMapper(this, inputSchema);
    }

    float[][] IImageScorer.Score(IReadOnlyList<byte[]> images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Network.Features(images);
    }

    Delegate IImageScorer.OutputGetter(int output, Func<float[]> vector) => Pipeline.Scoring.ScoreGetter(vector);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        FeaturizerPersistence.Save(ctx, InputColumnName, OutputColumnName, Network);
    }

    /// <summary>Disposes the network when the featurizer made it (from weights, or loaded from a zip); a given classifier stays its owner's.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ownsNetwork)
            Network.Dispose();
    }
}

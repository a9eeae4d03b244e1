using System.Text.Json;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.MLNet;
using EfficientNet.MLNet.MLNetInternals;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet;

/// <summary>
/// A trained EfficientNet as an ML.NET transformer: adds <c>Score</c> (class probabilities, slot names = class
/// names) and <c>PredictedLabel</c> (a key with the training label's values) to data with an image column.
/// Transform is lazy and scores rows in batches; PredictionEngine works (one per thread).
/// <c>mlContext.Model.Save</c> stores everything in the zip and <c>mlContext.Model.Load</c> restores it in a
/// fresh process. Dispose it to release the network's native memory.
/// </summary>
public sealed class EfficientNetTransformer : ITransformer, IDisposable
{
    /// <summary>The format this version writes and the newest it reads.</summary>
    public const int FormatVersion = 1;

    private readonly EfficientNetModel model;
    private readonly Device device;
    private bool disposed;

    internal EfficientNetTransformer(EfficientNetModel model, Device device, int imageSize, IReadOnlyList<string> classNames,
        string imageColumnName, string scoreColumnName, string predictedLabelColumnName, int inferenceBatchSize,
        IReadOnlyList<EpochMetrics> history)
    {
        this.model = model;
        this.device = device;
        ImageSize = imageSize;
        ClassNames = classNames;
        ImageColumnName = imageColumnName;
        ScoreColumnName = scoreColumnName;
        PredictedLabelColumnName = predictedLabelColumnName;
        InferenceBatchSize = inferenceBatchSize;
        History = history;
        model.eval();
    }

    /// <summary>The variant, e.g. "b0".</summary>
    public string Version => model.Scaling.Name;

    /// <summary>Width, depth, resolution, dropout and batch-norm settings of the network.</summary>
    public EfficientNetScaling Scaling => model.Scaling;

    /// <summary>The square size images are resized to before scoring.</summary>
    public int ImageSize { get; }

    /// <summary>The class names, in the order of the Score vector.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The metrics of each training epoch.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Images left out of training because they could not be read (with SkipUnreadableImages; not saved in the zip).</summary>
    public IReadOnlyList<SkippedImage> SkippedImages { get; internal init; } = Array.Empty<SkippedImage>();

    /// <summary>The input image column.</summary>
    public string ImageColumnName { get; }

    /// <summary>The output column of class probabilities.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The output key column of the most probable class.</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>Images per forward pass in Transform.</summary>
    public int InferenceBatchSize { get; }

    /// <summary>The network, for TorchSharp users (e.g. to export its weights with SaveSafetensors).</summary>
    public EfficientNetModel Model => model;

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ImageColumn.Find(inputSchema, ImageColumnName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        var names = new VBuffer<ReadOnlyMemory<char>>(ClassNames.Count, ClassNames.Select(n => n.AsMemory()).ToArray());
        var slotNames = new DataViewSchema.Annotations.Builder();
        slotNames.Add(AnnotationKinds.SlotNames, new VectorDataViewType(TextDataViewType.Instance, ClassNames.Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => names.CopyTo(ref value));
        builder.AddColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassNames.Count), slotNames.ToAnnotations());
        var keyValues = new DataViewSchema.Annotations.Builder();
        keyValues.Add(AnnotationKinds.KeyValues, new VectorDataViewType(TextDataViewType.Instance, ClassNames.Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => names.CopyTo(ref value));
        builder.AddColumn(PredictedLabelColumnName, new KeyDataViewType(typeof(uint), ClassNames.Count), keyValues.ToAnnotations());
        return builder.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new ScoringRowMapper(this, inputSchema);
    }

    /// <summary>Class probabilities for images given as planar RGB bytes of <see cref="ImageSize"/>, one forward pass.</summary>
    internal float[][] Score(IReadOnlyList<byte[]> images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (images.Count == 0)
            return Array.Empty<float[]>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pixels = ImageBatch.Stack(images, ImageSize, device);
        var probabilities = model.call(ImageNormalization.Apply(pixels)).softmax(1).cpu();
        var flat = probabilities.data<float>().ToArray();
        var classes = ClassNames.Count;
        return Enumerable.Range(0, images.Count).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        TransformerPersistence.Save(ctx, WriteDescription, stream => model.SaveToStream(stream));
    }

    void WriteDescription(BinaryWriter writer)
    {
        var s = model.Scaling;
        writer.Write(FormatVersion);
        writer.Write(s.Name);
        writer.Write(s.WidthMultiplier);
        writer.Write(s.DepthMultiplier);
        writer.Write(s.Resolution);
        writer.Write(s.DropoutRate);
        writer.Write(s.BatchNormEpsilon);
        writer.Write(s.BatchNormMomentum);
        writer.Write(model.StochasticDepthProbability);
        writer.Write(model.DropoutRate);
        writer.Write(ImageSize);
        writer.Write(ClassNames.Count);
        foreach (var name in ClassNames)
            writer.Write(name);
        writer.Write(ImageColumnName);
        writer.Write(ScoreColumnName);
        writer.Write(PredictedLabelColumnName);
        writer.Write(InferenceBatchSize);
        foreach (var value in ImageNormalization.Mean.Concat(ImageNormalization.Std))
            writer.Write(value);
        writer.Write(JsonSerializer.Serialize(History));
    }

    /// <summary>Reads what <see cref="WriteDescription"/> wrote, and the weights.</summary>
    internal static EfficientNetTransformer Load(IHostEnvironment environment, BinaryReader reader, byte[] weights)
    {
        var format = reader.ReadInt32();
        if (format > FormatVersion)
            throw new EfficientNetException($"This model was saved in EfficientNet.MLNet model format {format}; this version of EfficientNet.MLNet reads formats up to {FormatVersion}. Upgrade the EfficientNet.MLNet package.");
        if (format < 1)
            throw new EfficientNetException($"This model zip declares EfficientNet.MLNet model format {format}, which does not exist: the file is damaged.");
        var scaling = new EfficientNetScaling(reader.ReadString(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadInt32(),
            reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble()).Validate();
        var stochasticDepth = reader.ReadDouble();
        var dropout = reader.ReadDouble();
        var imageSize = reader.ReadInt32();
        var classCount = reader.ReadInt32();
        if (classCount < 2 || classCount > 1_000_000)
            throw new EfficientNetException($"This model zip declares {classCount} classes: the file is damaged.");
        var classNames = Enumerable.Range(0, classCount).Select(_ => reader.ReadString()).ToArray();
        var (image, score, predicted) = (reader.ReadString(), reader.ReadString(), reader.ReadString());
        var batchSize = reader.ReadInt32();
        var normalization = Enumerable.Range(0, 6).Select(_ => reader.ReadSingle()).ToArray();
        if (!normalization.SequenceEqual(ImageNormalization.Mean.Concat(ImageNormalization.Std)))
            throw new EfficientNetException("This model was saved with an input normalization this version does not apply. Upgrade the EfficientNet.MLNet package.");
        var history = JsonSerializer.Deserialize<List<EpochMetrics>>(reader.ReadString()) ?? new List<EpochMetrics>();

        var device = DeviceSelection.Choose(MLNetEnvironment.GpuDeviceId(environment) is null ? "cpu" : "auto",
            MLNetEnvironment.GpuDeviceId(environment), MLNetEnvironment.FallbackToCpu(environment), _ => { });
        var model = new EfficientNetModel(scaling, classCount, stochasticDepth, dropout);
        try
        {
            model.LoadFromBytes(weights, "the model zip's weights");
            model.to(device);
            return new EfficientNetTransformer(model, device, imageSize, classNames, image, score, predicted, batchSize, history);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        model.Dispose();
    }
}

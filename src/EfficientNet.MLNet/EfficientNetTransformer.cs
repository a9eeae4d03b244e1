using System.Text;
using System.Text.Json;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Pipeline;
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
    public const int FormatVersion = 2;

    private readonly EfficientNetModel model;
    private readonly Device device;
    private bool disposed;

    internal EfficientNetTransformer(EfficientNetModel model, Device device, int imageSize, IReadOnlyList<string> classNames,
        string imageColumnName, string scoreColumnName, string predictedLabelColumnName, int inferenceBatchSize,
        IReadOnlyList<EpochMetrics> history, PixelNormalization? normalization = null)
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
        Normalization = (normalization ?? PixelNormalization.ImageNet).Validate();
        model.eval();
    }

    /// <summary>The variant, e.g. "b0".</summary>
    public string Version => model.Scaling.Name;

    /// <summary>Width, depth, resolution, dropout and batch-norm settings of the network.</summary>
    public EfficientNetScaling Scaling => model.Scaling;

    /// <summary>The square size images are resized to before scoring.</summary>
    public int ImageSize { get; }

    /// <summary>How pixels are normalized before the network: the pretrained weights' (ImageNet's by default).</summary>
    public PixelNormalization Normalization { get; }

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

    /// <summary>
    /// The network, for TorchSharp users (e.g. to export its weights with SaveSafetensors, or to fine-tune it further).
    /// Scoring always uses it as it is at that moment, in eval mode, whatever was done to it (new weights, another
    /// mode, device or dtype). Disposing the transformer disposes it.
    /// </summary>
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

    /// <summary>
    /// Class probabilities for images given as planar RGB bytes of <see cref="ImageSize"/>, one forward pass. Safe from
    /// several threads, and while another thread disposes the transformer (then: ObjectDisposedException).
    /// </summary>
    internal float[][] Score(IReadOnlyList<byte[]> images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (images.Count == 0)
            return Array.Empty<float[]>();
        using var scope = NewDisposeScope();
        var probabilities = model.Infer(NetworkInput.FromImages(images, ImageSize, device, Normalization)).softmax(1).to(ScalarType.Float32).cpu();
        var flat = probabilities.data<float>().ToArray();
        var classes = ClassNames.Count;
        return Enumerable.Range(0, images.Count).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var weights = new MemoryStream();
        using (model.Exclusive())
            model.SaveToStream(weights);
        var weightBytes = weights.ToArray();
        TransformerPersistence.Save(ctx, writer =>
        {
            // Format 2: the fields framed with a SHA-256 over them and the weights (format 1 had no checksum).
            writer.Write(FormatVersion);
            using var description = new MemoryStream();
            using (var fields = new BinaryWriter(description, Encoding.UTF8, leaveOpen: true))
                WriteFields(fields);
            ChecksummedPayload.Write(writer, description.ToArray(), weightBytes);
        }, stream => stream.Write(weightBytes));
    }

    void WriteFields(BinaryWriter writer)
    {
        var s = model.Scaling;
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
        foreach (var value in Normalization.Mean.Concat(Normalization.Std))
            writer.Write(value);
        writer.Write(JsonSerializer.Serialize(History));
    }

    /// <summary>
    /// Reads what <see cref="ICanSaveModel.Save"/> wrote (format 1 or 2), and the weights. Every value is checked before it sizes
    /// anything: the declared layout must hold exactly as many values as the weights file, so a damaged description
    /// cannot make it allocate a network larger than the zip.
    /// </summary>
    /// <exception cref="EfficientNetException">The description or the weights are damaged, do not match, or are from a newer format.</exception>
    internal static EfficientNetTransformer Load(IHostEnvironment environment, BinaryReader reader, byte[] weights)
    {
        try
        {
            return Read(environment, reader, weights);
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or OverflowException or DecoderFallbackException)
        {
            throw new EfficientNetException($"The model zip's EfficientNet description is damaged ({e.Message}). Save the model again, or use a backup.", e);
        }
    }

    static EfficientNetTransformer Read(IHostEnvironment environment, BinaryReader reader, byte[] weights)
    {
        static void Check(bool ok, string problem)
        {
            if (!ok) throw new EfficientNetException($"The model zip's EfficientNet description is damaged: {problem}. Save the model again, or use a backup.");
        }
        var format = reader.ReadInt32();
        if (format > FormatVersion)
            throw new EfficientNetException($"This model was saved in EfficientNet.MLNet model format {format}; this version of EfficientNet.MLNet reads formats up to {FormatVersion}. Upgrade the EfficientNet.MLNet package.");
        Check(format >= 1, $"it declares model format {format}, which does not exist");
        if (format >= 2)
            reader = new BinaryReader(new MemoryStream(ChecksummedPayload.Read(reader, weights)), Encoding.UTF8);
        var scaling = new EfficientNetScaling(reader.ReadString(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadInt32(),
            reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble());
        try
        {
            scaling.Validate();
        }
        catch (ArgumentException e)
        {
            Check(false, e.Message);
        }
        // b7 is 2.0 wide and 3.1 deep; a compound phi of 10 stays under these bounds.
        Check(scaling.WidthMultiplier <= 8 && scaling.DepthMultiplier <= 8, $"width {scaling.WidthMultiplier} and depth {scaling.DepthMultiplier} are beyond any EfficientNet");
        var stochasticDepth = reader.ReadDouble();
        var dropout = reader.ReadDouble();
        Check(stochasticDepth is >= 0 and <= 1 && dropout is >= 0 and < 1, $"stochastic depth {stochasticDepth} or dropout {dropout} is out of range");
        var imageSize = reader.ReadInt32();
        Check(imageSize is >= 32 and <= 8192, $"the image size {imageSize} is not in [32, 8192]");
        var classCount = reader.ReadInt32();
        Check(classCount is >= 2 and <= 1_000_000, $"it declares {classCount} classes");
        var classNames = Enumerable.Range(0, classCount).Select(_ => reader.ReadString()).ToArray();
        var (image, score, predicted) = (reader.ReadString(), reader.ReadString(), reader.ReadString());
        var batchSize = reader.ReadInt32();
        Check(batchSize is >= 1 and <= 65_536, $"the inference batch size {batchSize} is not in [1, 65536]");
        var values = Enumerable.Range(0, 6).Select(_ => reader.ReadSingle()).ToArray();
        var normalization = new PixelNormalization(values[..3], values[3..]);
        Check(values.All(float.IsFinite) && values[3..].All(s => s > 0), $"its input normalization (mean [{string.Join(", ", values[..3])}], std [{string.Join(", ", values[3..])}]) is not finite and positive");
        var history = JsonSerializer.Deserialize<List<EpochMetrics>>(reader.ReadString()) ?? new List<EpochMetrics>();

        var file = SafetensorsFile.FromBytes(weights, "the model zip's weights");
        var declared = EfficientNetArchitecture.Plan(scaling.WidthMultiplier, scaling.DepthMultiplier, stochasticDepth).StateElementCount(classCount);
        var stored = file.Entries.Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
        if (declared != stored)
            throw new EfficientNetException($"The model zip's weights hold {stored:N0} values, but its description declares EfficientNet-{scaling.Name} with {classCount} classes, which has {declared:N0}: the weights do not belong to this model. Save the model again.");

        var device = DeviceSelection.Choose(MLNetEnvironment.GpuDeviceId(environment) is null ? "cpu" : "auto",
            MLNetEnvironment.GpuDeviceId(environment), MLNetEnvironment.FallbackToCpu(environment), _ => { });
        var model = new EfficientNetModel(scaling, classCount, stochasticDepth, dropout);
        try
        {
            model.LoadFromBytes(weights, "the model zip's weights");
            model.to(device);
            return new EfficientNetTransformer(model, device, imageSize, classNames, image, score, predicted, batchSize, history, normalization);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the network as an ONNX model (opset 17; input "image": float32 [N, 3, ImageSize, ImageSize], RGB 0..255 in
    /// planes, as ML.NET's ExtractPixels gives by default; normalization and folded batch norms inside; outputs
    /// "probabilities" and "logits"; the class names in the metadata), atomically. See <see cref="Onnx.OnnxExport"/>.
    /// </summary>
    public void ExportOnnx(string path)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, temporary =>
        {
            using var file = File.Create(temporary);
            using var exclusive = model.Exclusive();
            Onnx.OnnxExport.Write(model, ImageSize, file, ClassNames, Normalization);
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        model.Dispose();
    }
}

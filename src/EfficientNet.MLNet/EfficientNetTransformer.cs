using System.Text;
using System.Text.Json;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Scoring;
using EfficientNet.MLNet.Tasks;
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
/// names) and <c>PredictedLabel</c> (a key with the training label's values) to data with an image column. A multi-label
/// model (<see cref="Task"/>) scores one probability per label, and its <c>PredictedLabel</c> is a vector of the keys of
/// the labels whose probability is at least the label's threshold (<see cref="Thresholds"/>; MapKeyToValue gives their names).
/// Transform is lazy and scores rows in batches; PredictionEngine works (one per thread).
/// <c>mlContext.Model.Save</c> stores everything in the zip and <c>mlContext.Model.Load</c> restores it in a
/// fresh process. Scoring runs on ONNX Runtime when the application references it, else on TorchSharp
/// (<see cref="ScoringEngine"/>); a loaded model that is only scored through ONNX Runtime never loads libtorch.
/// Dispose it to release the network's native memory.
/// </summary>
public sealed class EfficientNetTransformer : ITransformer, IDisposable, IImageScorer
{
    /// <summary>
    /// The newest format this version writes and reads: 4, which adds a multi-label model's thresholds. Format 3 names the
    /// block table (EfficientNetV2) and the padding (TensorFlow's "SAME"). Each model is written in the oldest format that
    /// holds it (torchvision's b0..b7, multiclass: 2), so older packages read every model they could score.
    /// </summary>
    public const int FormatVersion = 4;

    private readonly ScoringNetwork network;
    // A multi-label model's thresholds, how they were chosen and its separator (null: a multiclass model), replaced whole
    // under the lock (never changed in place): a getter takes one set when it is made, so a cursor or a prediction engine
    // decides with one set throughout.
    private volatile MultiLabelDecisions? decisions;
    private readonly object thresholdGate = new();
    private bool disposed;

    internal EfficientNetTransformer(EfficientNetModel model, Device device, int imageSize, IReadOnlyList<string> classNames,
        string featureColumnName, string scoreColumnName, string predictedLabelColumnName, int inferenceBatchSize,
        IReadOnlyList<EpochMetrics> history, PixelNormalization? normalization = null, MultiLabelDecisions? multiLabel = null)
        : this(ScoringNetwork.FromModel(model, device, imageSize, (normalization ?? PixelNormalization.ImageNet).Validate(), sigmoid: multiLabel is not null), imageSize, classNames,
            featureColumnName, scoreColumnName, predictedLabelColumnName, inferenceBatchSize, history, normalization, multiLabel)
    {
        model.eval();
    }

    private EfficientNetTransformer(ScoringNetwork network, int imageSize, IReadOnlyList<string> classNames,
        string featureColumnName, string scoreColumnName, string predictedLabelColumnName, int inferenceBatchSize,
        IReadOnlyList<EpochMetrics> history, PixelNormalization? normalization, MultiLabelDecisions? multiLabel)
    {
        this.network = network;
        decisions = multiLabel is null ? null : multiLabel with { Thresholds = multiLabel.Thresholds.ToArray() };
        ImageSize = imageSize;
        ClassNames = classNames;
        FeatureColumnName = featureColumnName;
        ScoreColumnName = scoreColumnName;
        PredictedLabelColumnName = predictedLabelColumnName;
        InferenceBatchSize = inferenceBatchSize;
        History = history;
        Normalization = (normalization ?? PixelNormalization.ImageNet).Validate();
    }

    /// <summary>One class per image, or several labels per image.</summary>
    public TaskKind Task => decisions is null ? TaskKind.Multiclass : TaskKind.MultiLabel;

    /// <summary>
    /// A multi-label model's decision thresholds, one per label in the order of <see cref="ClassNames"/>: a row has a label
    /// when its probability is at least the label's threshold. Chosen on the validation images when training ended (see
    /// <see cref="ThresholdPolicy"/>), saved in the zip, used by every door (PredictedLabel, the CLI, the web service, the
    /// ONNX export's "labels" output). A copy; null for a multiclass model.
    /// </summary>
    public IReadOnlyList<float>? Thresholds => decisions?.Thresholds.ToArray();

    /// <summary>How <see cref="Thresholds"/> were chosen: "f1" (highest F1), "precision>=P", or "set" (by <see cref="SetThresholds"/>); null for a multiclass model.</summary>
    public string? ThresholdPolicy => decisions?.ThresholdPolicy;

    // The current set, for a getter or a decision to keep.
    float[] CurrentThresholds => decisions!.Thresholds;

    void ReplaceThresholds(Func<float[], float[]> change, string policy)
    {
        lock (thresholdGate)
            decisions = decisions! with { Thresholds = change(decisions!.Thresholds), ThresholdPolicy = policy };
    }

    /// <summary>What separates the labels in a multi-label model's text label column (for evaluating and choosing thresholds on data like its training data).</summary>
    public char LabelSeparator => decisions?.Separator ?? MultiLabel.LabelSets.DefaultSeparator;

    /// <summary>
    /// Replaces a multi-label model's thresholds (one per label, each in [0, 1]) without retraining; cursors and
    /// prediction engines made afterwards use them (one already open keeps the set it started with), and saving keeps them.
    /// </summary>
    /// <exception cref="InvalidOperationException">A multiclass model.</exception>
    /// <exception cref="ArgumentException">Not one per label, or a value outside [0, 1].</exception>
    public void SetThresholds(IReadOnlyList<float> newThresholds)
    {
        RequireMultiLabel(nameof(SetThresholds));
        ArgumentNullException.ThrowIfNull(newThresholds);
        var checkedThresholds = ThresholdChoice.Check(newThresholds, ClassNames, nameof(newThresholds));
        ReplaceThresholds(_ => checkedThresholds, "set");
    }

    /// <summary>Replaces one label's threshold (see <see cref="SetThresholds"/>).</summary>
    /// <exception cref="ArgumentException">No such label, or a value outside [0, 1].</exception>
    public void SetThreshold(string label, float threshold)
    {
        RequireMultiLabel(nameof(SetThreshold));
        var index = ClassNames.ToList().IndexOf(label);
        if (index < 0)
            throw new ArgumentException($"The model has no label '{label}' (its labels: {string.Join(", ", ClassNames)}).", nameof(label));
        ReplaceThresholds(current =>
        {
            var changed = current.ToArray();
            changed[index] = threshold;
            return ThresholdChoice.Check(changed, ClassNames, nameof(threshold));
        }, "set");
    }

    /// <summary>
    /// Chooses a multi-label model's thresholds again on labelled data (held out from training): per label the highest
    /// F1, or with <paramref name="precisionTarget"/> the most recall at that precision or better (0.5 for a label the data
    /// does not have). Scores the data with the current engine; returns the new thresholds, which the model then uses.
    /// </summary>
    /// <param name="data">Rows with the image column and the label column (as at training: "a;b" text, text or key vectors).</param>
    /// <param name="labelColumnName">The label column.</param>
    /// <param name="precisionTarget">Null for the highest F1, or a precision in (0, 1].</param>
    public IReadOnlyList<float> ChooseThresholds(IDataView data, string labelColumnName = "Label", double? precisionTarget = null)
    {
        RequireMultiLabel(nameof(ChooseThresholds));
        ArgumentNullException.ThrowIfNull(data);
        if (precisionTarget is not null and not (> 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(precisionTarget), precisionTarget, "A precision in (0, 1], or null for the highest F1.");
        var truth = MultiLabel.LabelSets.Read(data, labelColumnName, ClassNames, LabelSeparator, "the threshold data");
        var scores = Transform(data).GetColumn<float[]>(ScoreColumnName).ToList();
        var labels = truth.Rows.Select(row => Enumerable.Range(0, row.Length).Where(i => row[i]).ToArray()).ToList();
        var chosen = ThresholdChoice.Choose(scores, labels, ClassNames.Count, precisionTarget);
        ReplaceThresholds(_ => chosen, precisionTarget is { } target ? FormattableString.Invariant($"precision>={target}") : "f1");
        return chosen.ToArray();
    }

    /// <summary>The labels (0-based, ascending) a multi-label model decides for one row's probabilities: each at least its threshold.</summary>
    internal int[] Decide(float[] probabilities) => Pipeline.Scoring.Decide(probabilities, CurrentThresholds);

    /// <summary>
    /// What PredictedLabel holds for one image's Score vector, by name: a multi-label model's labels whose probability is
    /// at least their threshold (possibly none), in label order; a multiclass model's most probable class. For services
    /// and tools that score with the model and report its decision as every other door does.
    /// </summary>
    /// <exception cref="ArgumentException">Not one score per class.</exception>
    public IReadOnlyList<string> PredictedLabels(IReadOnlyList<float> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count != ClassNames.Count)
            throw new ArgumentException($"{scores.Count} scores for {ClassNames.Count} classes: give the model's Score vector.", nameof(scores));
        var values = scores.ToArray();
        return decisions is not null
            ? Decide(values).Select(i => ClassNames[i]).ToList()
            : new[] { ClassNames[Pipeline.Scoring.MostProbable(values)] };
    }

    void RequireMultiLabel(string member)
    {
        if (decisions is null)
            throw new InvalidOperationException($"{member} is for multi-label models; this one is multiclass (its PredictedLabel is the most probable class, no threshold).");
    }

    /// <summary>The variant, e.g. "b0".</summary>
    public string Version => network.Scaling.Name;

    /// <summary>Width, depth, resolution, dropout and batch-norm settings of the network.</summary>
    public EfficientNetScaling Scaling => network.Scaling;

    /// <summary>
    /// What scores: <see cref="ScoringEngine.Auto"/> (the default: ONNX Runtime on the CPU when the application can load
    /// it, else TorchSharp), or one engine. Can be changed at any time; results agree within 1e-4.
    /// </summary>
    public ScoringEngine ScoringEngine
    {
        get => network.Engine;
        set => network.Engine = value;
    }

    /// <summary>
    /// Test-time augmentation: <see cref="TestTimeAugmentation.HorizontalFlip"/> averages the probabilities of each image
    /// and its mirror image (two passes), <see cref="TestTimeAugmentation.FlipAndFiveCrops"/> those of the image, four
    /// corner crops and a centre crop, each also mirrored (twelve passes), <see cref="TestTimeAugmentation.FiveCrops"/> the
    /// same without mirrors (six passes); on either engine. A scoring setting like <see cref="ScoringEngine"/>: not saved in
    /// the zip, set it after loading. None by default.
    /// </summary>
    public TestTimeAugmentation TestTimeAugmentation
    {
        get => network.TestTimeAugmentation;
        set => network.TestTimeAugmentation = Enum.IsDefined(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "None, HorizontalFlip, FlipAndFiveCrops or FiveCrops.");
    }

    /// <summary>The engine the next batch is scored with (what <see cref="ScoringEngine"/> resolves to here).</summary>
    public ScoringEngine ScoringEngineInUse => network.EngineInUse;

    /// <summary>Whether the TorchSharp network has been built (for tests: a loaded model scored by ONNX Runtime never builds it).</summary>
    internal bool HasTorchSharpNetwork => network.HasTorchSharpNetwork;

    /// <summary>Whether the ONNX Runtime session has been built (for tests of <see cref="WarmUp"/>).</summary>
    internal bool HasOnnxSession => network.HasOnnxSession;

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
    public string FeatureColumnName { get; }

    /// <summary>The output column of class probabilities.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The output key column of the most probable class.</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>
    /// Images per forward pass in Transform (saved in the zip). Can be changed at any time; it applies to cursors opened
    /// afterwards. Larger batches score faster up to the machine's memory.
    /// </summary>
    public int InferenceBatchSize
    {
        get => inferenceBatchSize;
        set => inferenceBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1 image per forward pass.");
    }

    private int inferenceBatchSize;

    /// <summary>
    /// The threads ONNX Runtime scores with (its intra-op threads); null (the default): ONNX Runtime's own choice, one
    /// per physical core. Set it lower when several processes or models share the machine. A scoring setting like
    /// <see cref="ScoringEngine"/>: not saved in the zip. The TorchSharp engine uses libtorch's process-wide
    /// <c>torch.set_num_threads</c> instead.
    /// </summary>
    public int? ScoringThreads
    {
        get => network.OnnxThreads;
        set => network.OnnxThreads = value is null or >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1 thread, or null for ONNX Runtime's default.");
    }

    /// <summary>
    /// The network, for TorchSharp users (e.g. to export its weights with SaveSafetensors, or to fine-tune it further);
    /// a loaded model builds it (and loads libtorch) on first use. Scoring always uses it as it is at that moment, in
    /// eval mode, whatever was done to it (new weights, another mode, device or dtype), on either engine. Disposing the
    /// transformer disposes it.
    /// </summary>
    public EfficientNetModel Model => network.Model;

    /// <summary>The head's activation on logits, as scoring applies it: softmax over the classes, or a sigmoid per label (Grad-CAM).</summary>
    internal Tensor Probabilities(Tensor logits) => network.Probabilities(logits);

    /// <summary>The network for the library's own reading (Grad-CAM): not handed out, so scoring's ONNX session stays as it is.</summary>
    internal EfficientNetModel ModelForReading => network.ModelForReading;

    /// <summary>How many ONNX Runtime sessions scoring has built (for tests: explaining must not rebuild it).</summary>
    internal int OnnxSessionsBuilt => network.OnnxSessionsBuilt;

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ImageColumn.Find(inputSchema, FeatureColumnName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        var names = new VBuffer<ReadOnlyMemory<char>>(ClassNames.Count, ClassNames.Select(n => n.AsMemory()).ToArray());
        var slotNames = new DataViewSchema.Annotations.Builder();
        slotNames.Add(AnnotationKinds.SlotNames, new VectorDataViewType(TextDataViewType.Instance, ClassNames.Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => names.CopyTo(ref value));
        if (decisions is not null)
        {
            // Read when asked (EvaluateMultiLabel reads it just before it opens its cursor), so that it is the set the
            // cursor decides with.
            slotNames.Add(AnnotationKinds.DecisionThresholds, new VectorDataViewType(NumberDataViewType.Single, ClassNames.Count),
                (ref VBuffer<float> value) => new VBuffer<float>(ClassNames.Count, CurrentThresholds.ToArray()).CopyTo(ref value));
        }
        builder.AddColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassNames.Count), slotNames.ToAnnotations());
        var keyValues = new DataViewSchema.Annotations.Builder();
        keyValues.Add(AnnotationKinds.KeyValues, new VectorDataViewType(TextDataViewType.Instance, ClassNames.Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => names.CopyTo(ref value));
        var key = new KeyDataViewType(typeof(uint), ClassNames.Count);
        // Multi-label: a vector of any length (the labels over their thresholds, possibly none), as MapValueToKey makes of text vectors.
        builder.AddColumn(PredictedLabelColumnName, decisions is null ? key : new VectorDataViewType(key), keyValues.ToAnnotations());
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
    /// Prepares scoring now instead of on the first prediction: builds the engine's session (ONNX Runtime) or network
    /// (TorchSharp) and scores one blank image with it, twice (an engine's second run still pays for first-time
    /// allocations). Optional; call it when a service starts, so that its first request is as fast as the rest.
    /// </summary>
    public void WarmUp()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        network.WarmUp();
    }

    /// <summary>
    /// Class probabilities for images given as planar RGB bytes of <see cref="ImageSize"/>, one forward pass. Safe from
    /// several threads, and while another thread disposes the transformer (then: ObjectDisposedException).
    /// </summary>
    internal float[][] Score(IReadOnlyList<byte[]> images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return network.Score(images);
    }

    /// <summary>The pooled features before the classifier for planar RGB images of <see cref="ImageSize"/> (the featurizer's output).</summary>
    internal float[][] Features(IReadOnlyList<byte[]> images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return network.Features(images);
    }

    float[][] IImageScorer.Score(IReadOnlyList<byte[]> images) => Score(images);

    Delegate IImageScorer.OutputGetter(int output, Func<float[]> vector) =>
        output == 0 ? Pipeline.Scoring.ScoreGetter(vector)
        : decisions is null ? Pipeline.Scoring.PredictedLabelGetter(vector)
        : Pipeline.Scoring.PredictedLabelsGetter(vector, CurrentThresholds);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var weightBytes = network.WeightsBytes();
        TransformerPersistence.Save(ctx, writer =>
        {
            // Format 2: the fields framed with a SHA-256 over them and the weights (format 1 had no checksum). Format 3 adds
            // the block table and the padding; torchvision's b0..b7 are still written as format 2, which older packages read.
            writer.Write(Format);
            using var description = new MemoryStream();
            using (var fields = new BinaryWriter(description, Encoding.UTF8, leaveOpen: true))
                WriteFields(fields);
            ChecksummedPayload.Write(writer, description.ToArray(), weightBytes);
        }, stream => stream.Write(weightBytes));
    }

    int Format => decisions is not null ? 4 : network.Scaling.Blocks == BlockTable.V1 && network.Scaling.Padding == ConvPadding.Symmetric ? 2 : 3;

    void WriteFields(BinaryWriter writer)
    {
        var s = network.Scaling;
        writer.Write(s.Name);
        writer.Write(s.WidthMultiplier);
        writer.Write(s.DepthMultiplier);
        writer.Write(s.Resolution);
        writer.Write(s.DropoutRate);
        writer.Write(s.BatchNormEpsilon);
        writer.Write(s.BatchNormMomentum);
        if (Format >= 3)
        {
            writer.Write(s.Blocks.Name);
            writer.Write(s.Padding.ToString());
        }
        writer.Write(network.StochasticDepthProbability);
        writer.Write(network.DropoutRate);
        writer.Write(ImageSize);
        writer.Write(ClassNames.Count);
        foreach (var name in ClassNames)
            writer.Write(name);
        writer.Write(FeatureColumnName);
        writer.Write(ScoreColumnName);
        writer.Write(PredictedLabelColumnName);
        writer.Write(InferenceBatchSize);
        foreach (var value in Normalization.Mean.Concat(Normalization.Std))
            writer.Write(value);
        writer.Write(JsonSerializer.Serialize(History));
        if (Format >= 4)
        {
            writer.Write(Task.ToString());
            var current = decisions!;
            writer.Write(current.Thresholds.Length);
            foreach (var threshold in current.Thresholds)
                writer.Write(threshold);
            writer.Write(current.ThresholdPolicy);
            writer.Write(LabelSeparator);
        }
    }

    /// <summary>
    /// Reads what <see cref="ICanSaveModel.Save"/> wrote (format 1 to 4), and the weights. Every value is checked before it sizes
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
        if (format >= 3)
        {
            var (tableName, paddingName) = (reader.ReadString(), reader.ReadString());
            scaling = scaling with
            {
                Blocks = BlockTable.Find(tableName) ?? throw new EfficientNetException(
                    $"This model is an EfficientNet of block table '{tableName}', which this version of EfficientNet.MLNet does not know (it knows {string.Join(", ", BlockTable.All.Select(t => t.Name))}). Upgrade the EfficientNet.MLNet package."),
                Padding = Enum.TryParse<ConvPadding>(paddingName, out var padding) && Enum.IsDefined(padding) ? padding : throw new EfficientNetException(
                    $"This model pads its convolutions as '{paddingName}', which this version of EfficientNet.MLNet does not know (it knows {string.Join(", ", Enum.GetNames<ConvPadding>())}). Upgrade the EfficientNet.MLNet package."),
            };
        }
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
        MultiLabelDecisions? multiLabel = null;
        if (format >= 4)
        {
            var task = reader.ReadString();
            if (!Enum.TryParse<TaskKind>(task, out var kind) || !Enum.IsDefined(kind))
                throw new EfficientNetException($"This model is a '{task}' model, which this version of EfficientNet.MLNet does not know (it knows {string.Join(", ", Enum.GetNames<TaskKind>())}). Upgrade the EfficientNet.MLNet package.");
            var count = reader.ReadInt32();
            Check(kind == TaskKind.MultiLabel ? count == classCount : count == 0, $"it declares {count} thresholds for {classCount} {(kind == TaskKind.MultiLabel ? "labels" : "classes of a multiclass model")}");
            var storedThresholds = Enumerable.Range(0, count).Select(_ => reader.ReadSingle()).ToArray();
            Check(storedThresholds.All(t => t is >= 0 and <= 1.001f), "a decision threshold is not a probability");
            var (policy, separator) = (reader.ReadString(), reader.ReadChar());
            if (kind == TaskKind.MultiLabel)
                multiLabel = new MultiLabelDecisions(storedThresholds, policy, separator);
        }

        var file = SafetensorsFile.FromBytes(weights, "the model zip's weights");
        var layout = EfficientNetArchitecture.Plan(scaling, stochasticDepth).StateLayout(classCount);
        var declared = layout.Sum(entry => entry.Shape.Aggregate(1L, (a, b) => a * b));
        var stored = file.Entries.Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
        if (declared != stored)
            throw new EfficientNetException($"The model zip's weights hold {stored:N0} values, but its description declares EfficientNet-{scaling.Name} with {classCount} classes, which has {declared:N0}: the weights do not belong to this model. Save the model again.");
        // Names and shapes too, without building the network (which a scoring-only application never does).
        var shapes = file.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        if (layout.FirstOrDefault(entry => !shapes.TryGetValue(entry.Name, out var shape) || !shape.SequenceEqual(entry.Shape)) is { Name: { } wrong })
            throw new EfficientNetException($"The model zip's weights do not fit its description of EfficientNet-{scaling.Name}: '{wrong}' is {(shapes.ContainsKey(wrong) ? "of another shape" : "missing")}. Save the model again.");

        var network = ScoringNetwork.FromWeights(weights, scaling, classCount, stochasticDepth, dropout, imageSize, normalization,
            MLNetEnvironment.GpuDeviceId(environment), MLNetEnvironment.FallbackToCpu(environment), sigmoid: multiLabel is not null);
        return new EfficientNetTransformer(network, imageSize, classNames, image, score, predicted, batchSize, history, normalization, multiLabel);
    }

    /// <summary>
    /// Writes the network as an ONNX model (opset 17; input "image": float32 [N, 3, ImageSize, ImageSize], RGB 0..255 in
    /// planes, as ML.NET's ExtractPixels gives by default; normalization and folded batch norms inside; outputs
    /// "probabilities" and "logits"; the class names in the metadata), atomically. See <see cref="Onnx.OnnxExport"/>. A
    /// multi-label model's probabilities are sigmoids, and it also outputs "labels", bool [N, labels]: each probability at
    /// least the label's current threshold (also in the metadata, "thresholds").
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="weightPrecision">How the weights are stored: float32, or float16 for half the file.</param>
    public void ExportOnnx(string path, OnnxWeightPrecision weightPrecision = OnnxWeightPrecision.Float32)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, temporary =>
        {
            using var file = File.Create(temporary);
            network.WriteOnnx(file, ClassNames, weightPrecision, decisions?.Thresholds);
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        network.Dispose();
    }
}

using System.Globalization;
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
/// Trains an EfficientNet image classifier inside an ML.NET pipeline. Create it with
/// <c>mlContext.MulticlassClassification.Trainers.EfficientNet(...)</c>; Fit gives an
/// <see cref="EfficientNetTransformer"/>.
/// </summary>
public sealed partial class EfficientNetTrainer : IEstimator<EfficientNetTransformer>
{
    private readonly IHostEnvironment environment;

    internal EfficientNetTrainer(IHostEnvironment environment, Options options)
    {
        this.environment = environment;
        TrainerOptions = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions { get; }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = TrainerOptions;
        if (Find(inputSchema, o.ImageColumnName) is not { } image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The image column '{o.ImageColumnName}' is not in the data. Set ImageColumnName, or name the column '{o.ImageColumnName}'.");
        if (ImageColumn.ProblemWith(image) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), problem);
        if (Find(inputSchema, o.LabelColumnName) is not { } label)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{o.LabelColumnName}' is not in the data. Set LabelColumnName, or name the column '{o.LabelColumnName}'.");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{o.LabelColumnName}' has type {label.ItemType}; expected a key type. Add mlContext.Transforms.Conversion.MapValueToKey(\"{o.LabelColumnName}\") before the trainer.");

        var names = new SchemaShape(new[] { MLNetEnvironment.Column(AnnotationKinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });
        var keyValues = new SchemaShape(new[] { MLNetEnvironment.Column(AnnotationKinds.KeyValues, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });
        var columns = inputSchema.Where(c => c.Name != o.ScoreColumnName && c.Name != o.PredictedLabelColumnName).ToList();
        columns.Add(MLNetEnvironment.Column(o.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, names));
        columns.Add(MLNetEnvironment.Column(o.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, keyValues));
        return new SchemaShape(columns);
    }

    static SchemaShape.Column? Find(SchemaShape schema, string name) =>
        schema.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();

    /// <summary>Trains on the data's image and label columns.</summary>
    /// <exception cref="OperationCanceledException">The CancellationToken or the MLContext's cancellation stopped training.</exception>
    /// <exception cref="EfficientNetException">Bad data (named by row), a diverging loss, or an unavailable device.</exception>
    public EfficientNetTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = TrainerOptions;
        var host = environment.Register(nameof(EfficientNetTrainer));
        using var channel = host.Start("Fit");
        void Log(string message) => channel.Info(MessageSensitivity.None, message);
        void CheckCancellation()
        {
            o.CancellationToken.ThrowIfCancellationRequested();
            if (MLNetEnvironment.IsCanceled(environment))
                throw new OperationCanceledException("The MLContext was cancelled.");
        }

        var (_, classNames) = LabelColumn.Find(input.Schema, o.LabelColumnName);
        ImageColumn.Find(input.Schema, o.ImageColumnName);
        var variant = EfficientNetVariants.Get(o.Version);
        var size = o.ImageSize ?? variant.Resolution;
        var seed = o.Seed ?? MLNetEnvironment.Seed(environment) ?? Environment.TickCount;
        if (o.Threads is { } threads)
            set_num_threads(threads);
        var device = DeviceSelection.Choose(o.Device, MLNetEnvironment.GpuDeviceId(environment), MLNetEnvironment.FallbackToCpu(environment), message => channel.Warning(MessageSensitivity.None, message));

        var budget = o.DecodedImageCacheBytes ?? TrainingImages.DefaultCacheBudgetBytes();
        var holdOut = new HoldOut(o.ValidationFraction, seed);
        Func<long, bool> training = o.ValidationFraction > 0 ? row => !holdOut.IsValidation(row) : _ => true;
        // Each unreadable image once, although a streamed set meets it every epoch.
        var skipped = new Dictionary<(string, long), SkippedImage>();
        Action<ImageRowException>? skip = o.SkipUnreadableImages
            ? error =>
            {
                lock (skipped)
                    if (skipped.TryAdd((error.DataName, error.Row), new SkippedImage(error.Row, error.DataName, error.Problem)))
                        channel.Warning(MessageSensitivity.None, $"Skipped row {error.Row} of {error.DataName}: {error.Problem}");
            }
            : null;
        Log($"EfficientNet-{variant.Name}: reading images at {size}x{size}...");
        var train = TrainingImages.Create(input, "the training data", o.ImageColumnName, o.LabelColumnName, size, training, budget, CheckCancellation, skip);
        var validation = o.ValidationSet is { } validationSet
            ? ReadValidation(validationSet, classNames.Length, size, budget, CheckCancellation, skip)
            : o.ValidationFraction > 0
                ? TrainingImages.Create(input, "the validation data", o.ImageColumnName, o.LabelColumnName, size, holdOut.IsValidation, budget - train.CachedBytes, CheckCancellation, skip)
                : null;
        if (train.Count == 0)
            throw new EfficientNetException("The training data has no rows (after holding out the validation fraction).");
        Log(string.Create(CultureInfo.InvariantCulture,
            $"{train.Count} training images, {validation?.Count ?? 0} validation images, {classNames.Length} classes, device {device}, seed {seed}; decoded images {(train.CachedBytes > 0 ? "kept in memory" : "streamed from the data each epoch (over the DecodedImageCacheBytes budget)")}."));

        manual_seed(seed);
        var model = new EfficientNetModel(variant, classNames.Length, o.StochasticDepthProbability, o.DropoutRate);
        try
        {
            var freshClassifier = true;
            if (o.PretrainedWeightsPath is { } weights)
            {
                var report = model.LoadWeights(weights, WeightLoadMode.KeepNewClassifier);
                freshClassifier = report.KeptFromModel.Count > 0;
                Log($"Loaded {report.Loaded.Count} tensors from {weights}; {report.KeptFromModel.Count} classifier tensors start fresh.");
            }
            // torchvision's head init (uniform in +-1/sqrt(classes)) gives large first logits for few classes; a
            // zero head starts at uniform probabilities and measurably trains faster and more stably.
            if (freshClassifier)
                model.ZeroClassifier();
            if (o.FreezeBackbone)
                model.FreezeBackbone();
            model.to(device);

            var settings = new TrainingSettings(o.Epochs, o.BatchSize, o.Optimizer, o.LearningRate, o.WeightDecay, o.Momentum,
                o.WarmupEpochs, o.Decay, o.LabelSmoothing, o.GradientClipNorm, o.Augment, o.RandomCropMinimumScale, o.EarlyStopping, o.InferenceBatchSize);
            var loop = new TrainingLoop(model, device, settings, seed, CheckCancellation, metrics =>
            {
                Log(metrics.ToString());
                o.EpochCompleted?.Invoke(metrics);
            }, o.BatchCompleted, epoch => Log($"Resumed from the checkpoint of epoch {epoch} in {o.CheckpointDirectory}."));
            var checkpoints = o.CheckpointDirectory is { } directory
                ? new CheckpointFolder(directory, new CheckpointRun(variant.Name, size, classNames.Length, train.Count, validation?.Count ?? 0,
                    o.Epochs, o.BatchSize, o.Optimizer.ToString(), o.LearningRate, seed), o.ResumeFromCheckpoint)
                : null;
            var (history, keptEpoch) = loop.Run(train, validation, checkpoints);
            if (keptEpoch != history.Count)
                Log($"Early stopping: kept the weights of epoch {keptEpoch}.");
            if (skipped.Count > 0)
                Log($"Skipped {skipped.Count} unreadable images; see EfficientNetTransformer.SkippedImages.");
            return new EfficientNetTransformer(model, device, size, classNames, o.ImageColumnName, o.ScoreColumnName,
                o.PredictedLabelColumnName, o.InferenceBatchSize, history)
            {
                SkippedImages = skipped.Values.OrderBy(s => s.DataName).ThenBy(s => s.Row).ToList(),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    TrainingImages ReadValidation(IDataView validation, int classCount, int size, long budget, Action checkCancellation, Action<ImageRowException>? skip)
    {
        var (_, names) = LabelColumn.Find(validation.Schema, TrainerOptions.LabelColumnName);
        if (names.Length != classCount)
            throw new EfficientNetException($"The validation set's label column has {names.Length} classes and the training data's {classCount}. Fit the same MapValueToKey on both (apply the training pipeline's fitted transformer to the validation data).");
        return TrainingImages.Create(validation, "the validation data", TrainerOptions.ImageColumnName, TrainerOptions.LabelColumnName, size, _ => true, budget, checkCancellation, skip);
    }
}

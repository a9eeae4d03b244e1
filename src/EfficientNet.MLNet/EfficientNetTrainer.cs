using System.Globalization;
using System.IO.Hashing;
using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Native;
using EfficientNet.MLNet.MultiLabel;
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
/// Trains an EfficientNet image classifier inside an ML.NET pipeline. Create it with
/// <c>mlContext.MulticlassClassification.Trainers.EfficientNet(...)</c> (one class per image) or
/// <c>EfficientNetMultiLabel(...)</c> (several labels per image); Fit gives an <see cref="EfficientNetTransformer"/>.
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
        if (Find(inputSchema, o.FeatureColumnName) is not { } image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The image column '{o.FeatureColumnName}' is not in the data. Set FeatureColumnName (the image column), or name the column '{o.FeatureColumnName}'.");
        if (ImageColumn.ProblemWith(image) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), problem);
        if (Find(inputSchema, o.LabelColumnName) is not { } label)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{o.LabelColumnName}' is not in the data. Set LabelColumnName, or name the column '{o.LabelColumnName}'.");
        if (o.MultiLabel is { } multiLabel)
        {
            if (!(label.ItemType is TextDataViewType || label.IsKey && label.Kind != SchemaShape.Column.VectorKind.Scalar))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{o.LabelColumnName}' has type {label.ItemType}; expected text with the labels separated by '{multiLabel.Separator}' (\"dog{multiLabel.Separator}person\"), a vector of text, or a vector of keys.");
        }
        else if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{o.LabelColumnName}' has type {label.ItemType}; expected a key type. Add mlContext.Transforms.Conversion.MapValueToKey(\"{o.LabelColumnName}\") before the trainer{(label.ItemType is TextDataViewType || label.Kind != SchemaShape.Column.VectorKind.Scalar ? ", or train a multi-label model (EfficientNetMultiLabel) if a row holds several labels" : "")}.");

        var names = new SchemaShape(new[] { MLNetEnvironment.Column(AnnotationKinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });
        var keyValues = new SchemaShape(new[] { MLNetEnvironment.Column(AnnotationKinds.KeyValues, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });
        var columns = inputSchema.Where(c => c.Name != o.ScoreColumnName && c.Name != o.PredictedLabelColumnName).ToList();
        columns.Add(MLNetEnvironment.Column(o.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, names));
        columns.Add(MLNetEnvironment.Column(o.PredictedLabelColumnName,
            o.MultiLabel is null ? SchemaShape.Column.VectorKind.Scalar : SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true, keyValues));
        return new SchemaShape(columns);
    }

    static SchemaShape.Column? Find(SchemaShape schema, string name) =>
        schema.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();

    /// <summary>
    /// Trains on the data's image and label columns. Fit draws its random numbers from its own generator (libtorch's
    /// global one is left as it was) and puts libtorch's thread count back when it ends.
    /// </summary>
    /// <exception cref="OperationCanceledException">The CancellationToken or the MLContext's cancellation stopped training.</exception>
    /// <exception cref="DataRowException">Bad data, named by row and column (an unreadable image, a missing label, pixels outside 0..255).</exception>
    /// <exception cref="EfficientNetException">A diverging loss, a checkpoint that does not fit, or an unavailable device.</exception>
    public EfficientNetTransformer Fit(IDataView input) => FitFrom(input, null);

    /// <summary>
    /// Continues training a model (ML.NET's warm start, as LbfgsMaximumEntropy's Fit(data, modelParameters)): starts
    /// from <paramref name="previousModel"/>'s weights instead of fresh or pretrained ones, with its network, image size
    /// and normalization (unless <see cref="Options.ImageSize"/> is set). When the data has the previous model's classes
    /// (in any order) the whole network continues; when it has other classes, the backbone continues and the classifier
    /// starts fresh. Every other option (epochs, learning rate and its warm-up, augmentation, ...) applies as in
    /// <see cref="Fit(IDataView)"/>; a lower learning rate than the first run's usually suits. The previous model is
    /// left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">The options name another version, or pretrained weights as well.</exception>
    public EfficientNetTransformer Fit(IDataView input, EfficientNetTransformer previousModel)
    {
        ArgumentNullException.ThrowIfNull(previousModel);
        return FitFrom(input, previousModel);
    }

    EfficientNetTransformer FitFrom(IDataView input, EfficientNetTransformer? previousModel)
    {
        ArgumentNullException.ThrowIfNull(input);
        var threads = get_num_threads();
        try
        {
            if (TrainerOptions.Threads is { } wanted)
                set_num_threads(wanted);
            return Train(input, previousModel);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    EfficientNetTransformer Train(IDataView input, EfficientNetTransformer? previous)
    {
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

        // Before the first convolution of the process: libtorch's float32 kernels are checked against float64 on this CPU.
        var kernels = CpuKernels.Check();
        if (kernels.FellBack || !kernels.Right)
            channel.Warning(MessageSensitivity.None, kernels.Summary);
        else
            Log(kernels.Summary);

        var task = ClassificationTask.For(o, input);
        var classNames = task.LabelNames.ToArray();
        var multiLabel = task.Kind == TaskKind.MultiLabel;
        var labels = task.Labels(input.Schema, o.LabelColumnName, "the training data");
        var image = ImageColumn.Find(input.Schema, o.FeatureColumnName);
        var weight = ExampleWeightColumn(input.Schema, "the training data");
        var variant = previous is null ? EfficientNetVariants.Get(o.Version ?? Options.DefaultVersion) : ContinuedTraining.Variant(previous, o, task.Kind);
        var (weightsPath, weightsEntry) = o.PretrainedWeights is { } named
            ? WeightsResolver.Resolve(named, variant.Name, WeightsResolver.InTenths(Log), o.CancellationToken)
            : (null, null);
        if (weightsPath is null && previous is null && (o.FreezeBackbone || o.FrozenBackboneEpochs > 0 || o.FreezeBatchNormStatistics))
            throw new ArgumentException($"EfficientNetTrainer.Options.{(o.FreezeBackbone ? nameof(o.FreezeBackbone) : o.FrozenBackboneEpochs > 0 ? nameof(o.FrozenBackboneEpochs) : nameof(o.FreezeBatchNormStatistics))} needs trained weights to freeze (a frozen random backbone learns nothing, and batch norms frozen at their starting statistics normalize nothing): set PretrainedWeights, or continue a model with Fit(data, previousModel).", nameof(input));
        var size = o.ImageSize ?? previous?.ImageSize ?? weightsEntry?.CropSize ?? variant.Resolution;
        if (o.ProgressiveLearning is { StartImageSize: var start } && start > size)
            throw new ArgumentException($"EfficientNetTrainer.Options.ProgressiveLearning.StartImageSize must be at most the image size, {size}; got {start}.", nameof(o.ProgressiveLearning));
        // The weights' preprocessing travels with them: a registry entry's own; for a file that is no entry, the
        // variant's own registry weights' (torchvision's V2 and the tf_ variants differ from ImageNet's); or as set.
        var variantDefault = weightsPath is not null && weightsEntry is null ? WeightsRegistry.Current.Find(WeightsRegistry.ImageNet, variant.Name) : null;
        var normalization = previous?.Normalization ?? o.Normalization?.Validate() ?? weightsEntry?.Normalization ?? variantDefault?.Normalization ?? PixelNormalization.ImageNet;
        if (weightsPath is not null && weightsEntry is null && o.Normalization is null)
        {
            string Values(IEnumerable<float> values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
            Log($"{weightsPath} is no registry entry: its images are normalized with mean [{Values(normalization.Mean)}] and std [{Values(normalization.Std)}]"
                + (variantDefault is null ? ", ImageNet's" : $", as {variantDefault.Name} (EfficientNet-{variant.Name}'s own weights) expect")
                + "; set EfficientNetTrainer.Options.Normalization if these weights were trained with others.");
        }
        var seed = o.Seed ?? MLNetEnvironment.Seed(environment) ?? Environment.TickCount;
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
        var train = TrainingImages.Create(input, "the training data", image, labels, size, training, budget, o.BatchSize, CheckCancellation, skip, weight, multiLabel);
        var validation = o.ValidationSet is { } validationSet
            ? ReadValidation(validationSet, task, size, budget - train.MemoryBytes, CheckCancellation, skip)
            : o.ValidationFraction > 0
                ? TrainingImages.Create(input, "the validation data", image, labels, size, holdOut.IsValidation, budget - train.MemoryBytes, o.InferenceBatchSize, CheckCancellation, skip, multiLabel: multiLabel)
                : null;
        if (train.Count == 0)
            throw new EfficientNetException("The training data has no rows (after holding out the validation fraction).");
        if (validation is { Count: 0 })
        {
            var none = o.ValidationSet is null
                ? string.Create(CultureInfo.InvariantCulture, $"ValidationFraction {o.ValidationFraction} held out none of the {train.Count} rows")
                : "the ValidationSet has no readable image";
            if (o.EarlyStopping is not null)
                throw new ArgumentException($"EfficientNetTrainer.Options.EarlyStopping needs validation images, but {none}: raise ValidationFraction, give a ValidationSet with readable images, or leave EarlyStopping unset.", nameof(input));
            channel.Warning(MessageSensitivity.None, $"No validation metrics: {none}.");
        }
        Log(string.Create(CultureInfo.InvariantCulture,
            $"{train.Count} training images, {validation?.Count ?? 0} validation images, {classNames.Length} {(multiLabel ? "labels" : "classes")}, device {device}, seed {seed}; decoded images {(train.CachedBytes > 0 ? "kept in memory" : "streamed from the data each epoch (over the DecodedImageCacheBytes budget)")}."));

        var classWeights = multiLabel ? null : ClassWeighting.Of(o, classNames, train.ClassCounts);
        if (classWeights is not null)
            Log("Class weights in the loss: " + string.Join(", ", classNames.Select((name, c) => string.Create(CultureInfo.InvariantCulture, $"{name} {classWeights[c]:0.###}"))) + ".");
        if ((task as MultiLabelTask)?.WeighPositives(train.ClassCounts, train.Count) is { } positiveWeights)
            Log(positiveWeights);
        var steps = (long)o.Epochs * ((train.Count + o.BatchSize - 1) / o.BatchSize);
        if (weightsPath is null && previous is null && steps < SmallDataSteps)
            channel.Warning(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"Only {steps} optimizer steps ({train.Count} images, batch {o.BatchSize}, {o.Epochs} epochs): too few to train EfficientNet from scratch well (docs/TRAINING.md measures it). Start from pretrained weights (PretrainedWeights = \"imagenet\", train --weights imagenet), or train for about {(SmallDataSteps + steps / o.Epochs - 1) / Math.Max(1, steps / o.Epochs)} epochs."));

        if (o.ProgressiveLearning is not null)
            Log("Progressive learning: " + string.Join("; ", Enumerable.Range(1, o.Epochs)
                .Select(epoch => (Epoch: epoch, Stage: ProgressiveStage.Of(o.ProgressiveLearning, epoch, o.Epochs, size, o.DropoutRate ?? variant.DropoutRate, o.RandomCropMinimumScale)))
                .GroupBy(e => e.Stage)
                .Select(g => string.Create(CultureInfo.InvariantCulture,
                    $"epochs {g.First().Epoch}-{g.Last().Epoch} at {g.Key.ImageSize} px, dropout {g.Key.DropoutRate:0.00}, crop scale from {g.Key.RandomCropMinimumScale:0.00}"))) + ".");

        // The run's own random source: initial weights, then dropout and stochastic depth (reseeded every epoch).
        using var generator = new Generator((ulong)(uint)seed);
        var model = new EfficientNetModel(variant, classNames.Length, o.StochasticDepthProbability, o.DropoutRate, generator);
        try
        {
            var freshClassifier = true;
            if (weightsPath is not null)
            {
                var report = model.LoadWeights(weightsPath, WeightLoadMode.KeepNewClassifier, o.UseEmaWeights);
                freshClassifier = report.KeptFromModel.Count > 0;
                Log($"Loaded {report.Loaded.Count} tensors from {weightsEntry?.Name ?? weightsPath}{(o.UseEmaWeights ? " (its moving average)" : "")}; {report.KeptFromModel.Count} classifier tensors start fresh.");
                if (!freshClassifier)
                    Log(WeightsClassOrder.Match(model, WeightsClassOrder.Find(weightsPath, weightsEntry, o.PretrainedClassNames, classNames.Length), classNames, weightsEntry?.Name ?? weightsPath));
            }
            if (previous is not null)
                freshClassifier = ContinuedTraining.LoadInto(model, previous, classNames, Log);
            // torchvision's head init (uniform in +-1/sqrt(classes)) gives large first logits for few classes; a
            // zero head starts at uniform probabilities and measurably trains faster and more stably.
            if (freshClassifier)
                model.ZeroClassifier();
            if (o.FreezeBackbone || o.FrozenBackboneEpochs > 0)
                model.FreezeBackbone();
            model.BatchNormStatisticsFrozen = o.FreezeBatchNormStatistics;
            model.to(device);
            model.TrainingGenerator = generator;

            var loop = new TrainingLoop(model, device, o, normalization, seed, generator, CheckCancellation, metrics =>
            {
                Log(metrics.ToString());
                o.EpochCompleted?.Invoke(metrics);
            }, epoch => Log($"Resumed from the checkpoint of epoch {epoch} in {o.CheckpointDirectory}."), task);
            var checkpoints = o.CheckpointDirectory is { } directory
                ? new CheckpointFolder(directory, RunFingerprint.Of(o, variant.Name, size, classNames, train, validation,
                    previous is not null ? ContinuedTraining.Fingerprint(previous) : weightsPath is null ? null : FileFingerprint(weightsPath), seed), o.ResumeFromCheckpoint, o.OverwriteCheckpoint)
                : null;
            if (NativeMemoryReuse.Describe(o.ReuseNativeMemory) is { } memory)
                Log(memory);
            var (history, keptEpoch) = loop.Run(train, validation, classWeights, checkpoints);
            model.TrainingGenerator = null;
            if (keptEpoch != history.Count)
                Log($"Early stopping: kept the weights of epoch {keptEpoch}.");
            if (skipped.Count > 0)
                Log($"Skipped {skipped.Count} unreadable images; see EfficientNetTransformer.SkippedImages.");
            var decisions = o.MultiLabel is { } multiLabelOptions ? ChooseThresholds(loop, validation, task, multiLabelOptions, Log, message => channel.Warning(MessageSensitivity.None, message)) : null;
            return new EfficientNetTransformer(model, device, size, classNames, o.FeatureColumnName, o.ScoreColumnName,
                o.PredictedLabelColumnName, o.InferenceBatchSize, history, normalization, decisions)
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

    /// <summary>Fewer optimizer steps than this, from scratch, get a warning with what to do instead.</summary>
    internal const long SmallDataSteps = 2000;

    // The example-weight column (a Single), or null when none is set.
    DataViewSchema.Column? ExampleWeightColumn(DataViewSchema schema, string dataName)
    {
        if (TrainerOptions.ExampleWeightColumnName is not { } name)
            return null;
        if (schema.GetColumnOrNull(name) is not { } column)
            throw new ArgumentOutOfRangeException(nameof(schema), $"The example-weight column '{name}' is not in {dataName}. Add it, or leave ExampleWeightColumnName unset.");
        if (column.Type != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(schema), $"The example-weight column '{name}' has type {column.Type}; expected Single (float). Convert it with mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.Single).");
        return column;
    }

    TrainingImages ReadValidation(IDataView validation, ClassificationTask task, int size, long budget, Action checkCancellation, Action<ImageRowException>? skip)
    {
        var labels = task.Labels(validation.Schema, TrainerOptions.LabelColumnName, "the validation data");
        var image = ImageColumn.Find(validation.Schema, TrainerOptions.FeatureColumnName);
        return TrainingImages.Create(validation, "the validation data", image, labels, size, _ => true, budget, TrainerOptions.InferenceBatchSize, checkCancellation, skip,
            multiLabel: task.Kind == TaskKind.MultiLabel);
    }

    // A multi-label model's decision thresholds, from the kept weights' probabilities on the validation images; 0.5 without them.
    static MultiLabelDecisions ChooseThresholds(TrainingLoop loop, TrainingImages? validation, ClassificationTask task, MultiLabelOptions options,
        Action<string> log, Action<string> warn)
    {
        float[] thresholds;
        if (validation is { Count: > 0 })
        {
            var (scores, labels) = loop.Probabilities(validation);
            thresholds = ThresholdChoice.Choose(scores, labels, task.LabelNames.Count, options.PrecisionTarget);
            var unseen = task.LabelNames.Where((_, label) => !labels.Any(l => l.Contains(label))).ToList();
            if (unseen.Count > 0)
                warn($"No validation image has {string.Join(", ", unseen)}: {(unseen.Count == 1 ? "its threshold stays" : "their thresholds stay")} {DecisionThresholds.Default}. Hold out more images (ValidationFraction), or give a ValidationSet that has every label.");
            log($"Decision thresholds ({(options.PrecisionTarget is { } target ? string.Create(CultureInfo.InvariantCulture, $"most recall at precision {target} or better") : "highest F1")} on {scores.Count} validation images): {ThresholdChoice.Describe(task.LabelNames, thresholds)}.");
        }
        else
        {
            thresholds = Enumerable.Repeat(DecisionThresholds.Default, task.LabelNames.Count).ToArray();
            warn($"No validation images to choose the decision thresholds on: every label's is {DecisionThresholds.Default}. Set ValidationFraction (e.g. 0.2) or a ValidationSet, or choose them later with EfficientNetTransformer.ChooseThresholds.");
        }
        return new MultiLabelDecisions(thresholds, options.ThresholdPolicy, options.Separator);
    }

    // A weights file by content: a resumed run must start from the same weights, wherever the file now is.
    static string FileFingerprint(string path)
    {
        using var stream = File.OpenRead(path);
        var hash = new XxHash64();
        hash.Append(stream);
        return $"{stream.Length} bytes, XxHash64 {Convert.ToHexString(hash.GetCurrentHash())}";
    }
}

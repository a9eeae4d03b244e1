using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;

namespace EfficientNet.MLNet;

public sealed partial class EfficientNetTrainer
{
    /// <summary>
    /// Everything the trainer can be told. Plain data: the trainer validates it once (<see cref="Validate"/>)
    /// and never changes it. Defaults suit fine-tuning or training a small dataset on a CPU.
    /// </summary>
    public sealed record Options
    {
        /// <summary>
        /// The label column: a key type (MapValueToKey) with at least 2 classes; for a multi-label model (<see cref="MultiLabel"/>)
        /// text with the labels separated ("dog;person"), a vector of text, or a vector of keys.
        /// </summary>
        public string LabelColumnName { get; init; } = "Label";

        /// <summary>
        /// The image column (the feature column, as ImageClassification names it): MLImage (LoadImages), encoded bytes
        /// (LoadRawImageBytes or a byte[] property such as Model Builder's ImageSource), or 3 x H x W floats (ExtractPixels).
        /// </summary>
        public string FeatureColumnName { get; init; } = "Image";

        /// <summary>The output column of class probabilities.</summary>
        public string ScoreColumnName { get; init; } = "Score";

        /// <summary>The output key column of the most probable class (multi-label: a vector of the keys of the labels over their thresholds).</summary>
        public string PredictedLabelColumnName { get; init; } = "PredictedLabel";

        /// <summary>
        /// Null (the default): one class per image. Set: several labels per image, trained and decided as these options say
        /// (<c>EfficientNetMultiLabel</c> in the catalog sets it).
        /// </summary>
        public MultiLabelOptions? MultiLabel { get; init; }

        /// <summary>
        /// "b0" to "b7" (EfficientNet), "v2_s", "v2_m", "v2_l" (EfficientNetV2), or the TensorFlow-padded "tf_b0" to "tf_v2_l" for weights
        /// trained in TensorFlow; also written like efficientnet_b3, v2-s or tf_efficientnetv2_s. Null (the default): b0, or the previous
        /// model's network when Fit(data, previousModel) continues one.
        /// </summary>
        public string? Version { get; init; }

        /// <summary>The network trained when <see cref="Version"/> is null and no previous model is continued.</summary>
        public const string DefaultVersion = "b0";

        /// <summary>
        /// The square size images are resized to; default the pretrained weights' crop size, else the variant's
        /// resolution (b0: 224). Smaller is faster, e.g. 128 on a CPU.
        /// </summary>
        public int? ImageSize { get; init; }

        /// <summary>Passes over the training data.</summary>
        public int Epochs { get; init; } = 10;

        /// <summary>Images per training step.</summary>
        public int BatchSize { get; init; } = 16;

        /// <summary>AdamW (default), SGD with momentum, or RMSProp as in the paper.</summary>
        public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;

        /// <summary>Peak learning rate, reached after the warm-up.</summary>
        public double LearningRate { get; init; } = 1e-3;

        /// <summary>Weight decay (decoupled for AdamW).</summary>
        public double WeightDecay { get; init; } = 1e-2;

        /// <summary>Momentum for SGD and RMSProp.</summary>
        public double Momentum { get; init; } = 0.9;

        /// <summary>Epochs of linear warm-up from 0 to <see cref="LearningRate"/> (fractions allowed).</summary>
        public double WarmupEpochs { get; init; } = 1;

        /// <summary>After the warm-up: cosine decay to 0 over the remaining steps (default), or constant.</summary>
        public LearningRateDecay Decay { get; init; } = LearningRateDecay.Cosine;

        /// <summary>Label smoothing of the cross-entropy loss.</summary>
        public double LabelSmoothing { get; init; } = 0.1;

        /// <summary>Dropout before the classifier; default the variant's (b0 0.2 ... b7 0.5).</summary>
        public double? DropoutRate { get; init; }

        /// <summary>Stochastic-depth probability of the last block (torchvision: 0.2).</summary>
        public double StochasticDepthProbability { get; init; } = EfficientNetModel.DefaultStochasticDepthProbability;

        /// <summary>Clip the gradients' global norm to this value; null: no clipping.</summary>
        public double? GradientClipNorm { get; init; }

        /// <summary>
        /// Leave out images that cannot be read (empty, truncated, not an image) and report them
        /// (<see cref="EfficientNetTransformer.SkippedImages"/>, the MLContext log); by default the first one stops Fit
        /// with its row, before any weights are trained.
        /// </summary>
        public bool SkipUnreadableImages { get; init; }

        /// <summary>
        /// Random resized crops (and flips, with <see cref="HorizontalFlip"/>) while training. Null (the default): on for one
        /// class per image, off for a multi-label model, where a crop can cut a labelled object off the image and leave a
        /// label it no longer shows (docs/TRAINING.md, "Multi-label": test mAP 0.41 with the crop, 0.77 without).
        /// </summary>
        public bool? Augment { get; init; }

        /// <summary>Whether training augments: <see cref="Augment"/>, or the task's default.</summary>
        internal bool AugmentInUse => Augment ?? MultiLabel is null;

        /// <summary>
        /// With <see cref="Augment"/>: mirror half of the training images left to right. Off by default: where a mirror
        /// image is another class or no class (digits, text, arrows pointing left or right) it teaches wrong images
        /// (handwritten digits from scratch: 0.893 with it, 0.956 without), and where mirroring keeps the class it
        /// gained little in our measurements (generated cluttered shapes: 0.185 with it, 0.171 without, within the
        /// seeds' spread); docs/TRAINING.md has the tables. Turn it on for photographs of things whose mirror image is
        /// the same thing, as ImageNet recipes do.
        /// </summary>
        public bool HorizontalFlip { get; init; }

        /// <summary>The smallest area fraction a random resized crop keeps.</summary>
        public double RandomCropMinimumScale { get; init; } = 0.5;

        /// <summary>
        /// An automatic augmentation policy after the crop and flip (with <see cref="Augment"/>): TrivialAugmentWide,
        /// RandAugment, AugMix, or none. Implemented here on float tensors, not with TorchSharp's TorchVision (see the README).
        /// </summary>
        public AugmentationPolicy AugmentationPolicy { get; init; } = AugmentationPolicy.None;

        /// <summary>RandAugment: operations per image.</summary>
        public int RandAugmentOperations { get; init; } = 2;

        /// <summary>RandAugment: the strength of every operation, 0 to 30 (torchvision's 31 levels; its default 9).</summary>
        public int RandAugmentMagnitude { get; init; } = 9;

        /// <summary>
        /// Random erasing (Zhong et al., 2020; torchvision's RandomErasing): the chance that a training image gets a
        /// random rectangle (2% to 33% of its area) filled with the normalization's mean colour. 0: off.
        /// </summary>
        public double RandomErasingProbability { get; init; }

        /// <summary>Mixup and CutMix of the training batches, with the loss on the mixed (soft) targets; null: off.</summary>
        public Mixup? Mixup { get; init; }

        /// <summary>
        /// An exponential moving average of the weights, used for validation, early stopping, the final model and
        /// checkpoints (which save both); null: off.
        /// </summary>
        public ModelEma? ModelEma { get; init; }

        /// <summary>
        /// Weight the loss of each class by n / (classes x n_class) (scikit-learn's "balanced"), so that a rare class
        /// counts as much as a frequent one. Not with <see cref="ClassWeights"/>.
        /// </summary>
        public bool BalanceClasses { get; init; }

        /// <summary>The loss weight of each class, by class name (classes not named weigh 1); null: all 1.</summary>
        public IReadOnlyDictionary<string, double>? ClassWeights { get; init; }

        /// <summary>
        /// A Single column of per-row weights for the loss (ML.NET's exampleWeightColumnName); null: every row weighs 1.
        /// The loss of a batch is the weighted mean of its images' losses (weights: class weight x example weight).
        /// </summary>
        public string? ExampleWeightColumnName { get; init; }

        /// <summary>
        /// Weight decay of the batch norms' scales and shifts and of every bias (torchvision's norm_weight_decay,
        /// 0 in its recipes); null: <see cref="WeightDecay"/> like every other parameter.
        /// </summary>
        public double? NormAndBiasWeightDecay { get; init; }

        /// <summary>
        /// Layer-wise learning-rate decay for fine-tuning: the classifier trains at the learning rate, the last feature
        /// stage at this factor times it, the one before at its square, and so on down to the stem. 1: one rate for all.
        /// </summary>
        public double LayerLearningRateDecay { get; init; } = 1;

        /// <summary>
        /// EfficientNetV2's progressive learning: image size, dropout and augmentation strength growing over the epochs from
        /// small and weak to the values of these options; null (the default): every epoch trains at the final values.
        /// </summary>
        public ProgressiveLearning? ProgressiveLearning { get; init; }

        /// <summary>Data to validate on after each epoch (same columns as the training data).</summary>
        public IDataView? ValidationSet { get; init; }

        /// <summary>When no <see cref="ValidationSet"/> is given: the fraction of the training rows held out for validation (0: none).</summary>
        public double ValidationFraction { get; init; }

        /// <summary>Stop when validation stops improving, and restore the best epoch's weights; null: train all epochs.</summary>
        public EarlyStopping? EarlyStopping { get; init; }

        /// <summary>
        /// Weights to start from (backbone loaded, classifier fresh for the new classes): a name the
        /// <see cref="Weights.WeightsRegistry"/> knows ("imagenet": torchvision's default ImageNet weights for
        /// <see cref="Version"/>; or e.g. "efficientnet_b1.IMAGENET1K_V1"), fetched into the weights cache on first use;
        /// or a file: safetensors or a PyTorch torch.save file (.pth, .pt; a state_dict or a checkpoint holding one), in
        /// torchvision's names or timm's (efficientnet_b0..b3). A registry entry also sets the normalization (its mean
        /// and std, kept in the saved model) and, when <see cref="ImageSize"/> is not given, the image size (its crop).
        /// Null (the default): no pretrained weights, nothing is downloaded.
        /// </summary>
        public string? PretrainedWeights { get; init; }

        /// <summary>
        /// How pixels are normalized for the network ((x / 255 - mean) / std), kept in the model and its ONNX export.
        /// Null (the default): the weights' own: a registry entry's; for a file that is no entry, those of the variant's
        /// default registry weights (ImageNet's mean and std for b0..b7, v2_s, v2_m and tf_b0..tf_b7; 0.5 for v2_l and the tf_v2 variants); the
        /// previous model's when continuing; ImageNet's without weights. Set it for weights trained with other values.
        /// </summary>
        public PixelNormalization? Normalization { get; init; }

        /// <summary>
        /// The class names of <see cref="PretrainedWeights"/>' classifier, in its row order, when it has as many classes
        /// as the data and is kept: its rows are then matched to the data's classes by name (MapValueToKey numbers labels
        /// in order of first appearance, a PyTorch ImageFolder sorts them). Null: a <c>classes.txt</c> beside the file
        /// (as examples/ScaleOut/train_ddp.py writes), or a registry entry's categories; with none, the rows are kept in
        /// the file's order and Fit's log says so. Names that are not the data's are refused with both orders named.
        /// </summary>
        public IReadOnlyList<string>? PretrainedClassNames { get; init; }

        /// <summary>
        /// With <see cref="PretrainedWeights"/> a training checkpoint (torchvision's or timm's train.py with EMA on):
        /// start from its exponential moving average of the weights ("model_ema" / "state_dict_ema"), usually the
        /// better ones, instead of its weights.
        /// </summary>
        public bool UseEmaWeights { get; init; }

        /// <summary>
        /// Train only the classifier (the backbone's weights and batch-norm statistics stay as loaded); with
        /// <see cref="PretrainedWeights"/> or a previous model (Fit(data, previousModel)).
        /// </summary>
        public bool FreezeBackbone { get; init; }

        /// <summary>
        /// With <see cref="PretrainedWeights"/> or a previous model: train only the classifier for this many epochs, then the whole network
        /// with the learning rate multiplied by <see cref="UnfrozenLearningRateFactor"/> (the classifier-first schedule
        /// of fine-tuning). 0 (the default): the whole network from the start (or never, with <see cref="FreezeBackbone"/>).
        /// </summary>
        public int FrozenBackboneEpochs { get; init; }

        /// <summary>The learning rate's factor once the backbone is unfrozen after <see cref="FrozenBackboneEpochs"/>.</summary>
        public double UnfrozenLearningRateFactor { get; init; } = 0.1;

        /// <summary>
        /// Keep every batch norm's running statistics as loaded while training (their scale and shift still learn):
        /// Keras' advice for fine-tuning on small data, where a few batches would shift statistics learned on millions.
        /// </summary>
        public bool FreezeBatchNormStatistics { get; init; }

        /// <summary>
        /// A folder to save a checkpoint in after every epoch: weights, optimizer state, epoch, history and early-stopping
        /// state (the random state follows from the seed and the epoch). Each file is written atomically and
        /// checkpoint.json last, so a killed process leaves the last complete epoch. Null: no checkpoints.
        /// </summary>
        public string? CheckpointDirectory { get; init; }

        /// <summary>
        /// Continue from the checkpoint in <see cref="CheckpointDirectory"/> (if it has one; otherwise start from the
        /// beginning). The data and options must be those of the interrupted run; a resumed run then ends with the same
        /// weights and metrics as an uninterrupted one.
        /// </summary>
        public bool ResumeFromCheckpoint { get; init; }

        /// <summary>
        /// Start afresh in a <see cref="CheckpointDirectory"/> that holds the checkpoint of another run, deleting that run's
        /// files (only those its checkpoint names). Without it such a folder is refused, so no run is lost by mistake.
        /// </summary>
        public bool OverwriteCheckpoint { get; init; }

        /// <summary>Seed for initialization, shuffling, augmentation and dropout; default: the MLContext's seed, if any.</summary>
        public int? Seed { get; init; }

        /// <summary>Called after every epoch with its metrics (the same line also goes to the MLContext log).</summary>
        public Action<EpochMetrics>? EpochCompleted { get; init; }

        /// <summary>Called after every training batch (epoch, batch, running loss and accuracy, elapsed time): for progress bars.</summary>
        public Action<TrainingProgress>? BatchCompleted { get; init; }

        /// <summary>Cancels Fit within a batch. ML.NET's own cancellation of the MLContext (ICancelable, as AutoML uses) works too.</summary>
        public CancellationToken CancellationToken { get; init; }

        /// <summary>"auto" (CUDA when TorchSharp sees it, else CPU; honours MLContext.GpuDeviceId), "cpu", "cuda" or "cuda:N".</summary>
        public string Device { get; init; } = "auto";

        /// <summary>libtorch's intra-op threads; null: libtorch's default (the number of cores).</summary>
        public int? Threads { get; init; }

        /// <summary>
        /// On Linux with glibc: while Fit's epochs run, the C allocator keeps the memory libtorch frees for the next step
        /// instead of returning it to the system and faulting it in again (mmap off, no trimming). Fit from image files
        /// ran about 1.4x as fast with it on the process's main thread (b0 at 224, batch 16, 2 cores), and 1.07x to 1.25x
        /// on another thread, where glibc maps blocks over 64 MB on their own whatever the settings; its peak resident memory
        /// was 5 to 10% higher and stays level from the first epoch. The setting is the whole process's, for every thread
        /// (a web service or notebook that hosts Fit included); when the epochs end, glibc's adjusted defaults (mmap above
        /// 32 MB, trim beyond 64 MB) return and the kept memory is given back. A process started with its own malloc tuning
        /// (glibc's MALLOC_*_ variables or GLIBC_TUNABLES' glibc.malloc entries) keeps it: nothing is changed then. False:
        /// glibc's defaults throughout.
        /// Elsewhere (Windows, macOS, musl) it changes nothing, nor where another allocator was preloaded: tcmalloc
        /// (LD_PRELOAD) gave the same speed on any thread at about 0.8x PyTorch's peak (docs/PERFORMANCE.md). Fit's log
        /// says which applies.
        /// </summary>
        public bool ReuseNativeMemory { get; init; } = true;

        /// <summary>
        /// Memory for decoded training images (3 x size x size bytes each): when they fit, they are decoded once and
        /// kept; otherwise every epoch decodes them again from the data, so memory does not grow with the number of
        /// images. Null: a quarter of the memory available to .NET, at most 4 GiB.
        /// </summary>
        public long? DecodedImageCacheBytes { get; init; }

        /// <summary>Images scored per forward pass in Transform.</summary>
        public int InferenceBatchSize { get; init; } = 32;

        /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and what is expected.</summary>
        public Options Validate()
        {
            static void Require(bool ok, string option, string expected, object? actual)
            {
                if (!ok) throw new ArgumentException($"EfficientNetTrainer.Options.{option} must be {expected}; got {actual ?? "null"}.", option);
            }
            if (Version is not null)
                EfficientNetVariants.Get(Version);
            Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), "a column name", LabelColumnName);
            Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), "a column name", FeatureColumnName);
            Require(ImageSize is null or >= 32, nameof(ImageSize), "at least 32 pixels (or null for the variant's resolution)", ImageSize);
            Require(Epochs >= 1, nameof(Epochs), "at least 1", Epochs);
            Require(BatchSize >= 1, nameof(BatchSize), "at least 1", BatchSize);
            Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "a positive number", LearningRate);
            Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), "a finite number of at least 0", WeightDecay);
            Require(Momentum >= 0 && Momentum < 1, nameof(Momentum), "in [0, 1)", Momentum);
            Require(WarmupEpochs >= 0 && double.IsFinite(WarmupEpochs), nameof(WarmupEpochs), "a finite number of at least 0", WarmupEpochs);
            Require(WarmupEpochs <= Epochs, nameof(WarmupEpochs), $"at most Epochs ({Epochs}), or the learning rate never reaches LearningRate", WarmupEpochs);
            Require(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), "in [0, 1)", LabelSmoothing);
            Require(DropoutRate is null or (>= 0 and < 1), nameof(DropoutRate), "in [0, 1)", DropoutRate);
            Require(StochasticDepthProbability is >= 0 and <= 1, nameof(StochasticDepthProbability), "in [0, 1]", StochasticDepthProbability);
            Require(GradientClipNorm is null || (GradientClipNorm > 0 && double.IsFinite(GradientClipNorm.Value)), nameof(GradientClipNorm), "a finite positive number (or null)", GradientClipNorm);
            Require(RandomCropMinimumScale is > 0 and <= 1, nameof(RandomCropMinimumScale), "in (0, 1]", RandomCropMinimumScale);
            Require(Enum.IsDefined(AugmentationPolicy), nameof(AugmentationPolicy), "None, TrivialAugmentWide, RandAugment or AugMix", AugmentationPolicy);
            Require(RandAugmentOperations is >= 1 and <= 14, nameof(RandAugmentOperations), "between 1 and 14", RandAugmentOperations);
            Require(RandAugmentMagnitude is >= 0 and <= 30, nameof(RandAugmentMagnitude), "between 0 and 30", RandAugmentMagnitude);
            Require(RandomErasingProbability is >= 0 and <= 1, nameof(RandomErasingProbability), "in [0, 1]", RandomErasingProbability);
            Require(AugmentationPolicy == AugmentationPolicy.None && RandomErasingProbability == 0 && !HorizontalFlip || AugmentInUse, nameof(Augment),
                "true when an AugmentationPolicy, RandomErasingProbability or HorizontalFlip is set" + (MultiLabel is null ? "" : " (a multi-label model's default is false)"), Augment);
            if (Mixup is { } mixup)
            {
                Require(mixup.MixupAlpha >= 0 && double.IsFinite(mixup.MixupAlpha), "Mixup.MixupAlpha", "a finite number of at least 0", mixup.MixupAlpha);
                Require(mixup.CutMixAlpha >= 0 && double.IsFinite(mixup.CutMixAlpha), "Mixup.CutMixAlpha", "a finite number of at least 0", mixup.CutMixAlpha);
                Require(mixup.MixupAlpha > 0 || mixup.CutMixAlpha > 0, "Mixup", "on with MixupAlpha or CutMixAlpha above 0 (or null for off)", mixup);
                Require(mixup.Probability is > 0 and <= 1, "Mixup.Probability", "in (0, 1]", mixup.Probability);
                Require(mixup.SwitchProbability is >= 0 and <= 1, "Mixup.SwitchProbability", "in [0, 1]", mixup.SwitchProbability);
                Require(mixup.OffEpoch is null or >= 1, "Mixup.OffEpoch", "at least 1 (or null)", mixup.OffEpoch);
            }
            Require(ModelEma is null || ModelEma.Decay is > 0 and < 1, "ModelEma.Decay", "in (0, 1)", ModelEma?.Decay);
            Require(!BalanceClasses || ClassWeights is null, nameof(BalanceClasses), "false when ClassWeights are given", BalanceClasses);
            Require(MultiLabel is null || !BalanceClasses && ClassWeights is null, MultiLabel is null || !BalanceClasses ? nameof(ClassWeights) : nameof(BalanceClasses),
                "unset for a multi-label model (its rare labels' positives are weighted by MultiLabel.PositiveWeights)", BalanceClasses ? "true" : "class weights");
            Require(EarlyStopping is not { Metric: EarlyStoppingMetric.ValidationMeanAveragePrecision } || MultiLabel is not null, "EarlyStopping.Metric",
                "ValidationLoss or ValidationAccuracy for a multiclass model (ValidationMeanAveragePrecision is a multi-label metric)", EarlyStopping?.Metric);
            MultiLabel?.Validate();
            Require(ClassWeights is null || ClassWeights.Values.All(w => w >= 0 && double.IsFinite(w)), nameof(ClassWeights), "finite weights of at least 0",
                ClassWeights is null ? null : string.Join(", ", ClassWeights.Select(p => $"{p.Key}: {p.Value}")));
            Require(ExampleWeightColumnName is null || !string.IsNullOrWhiteSpace(ExampleWeightColumnName), nameof(ExampleWeightColumnName), "a column name (or null)", ExampleWeightColumnName);
            Require(NormAndBiasWeightDecay is null || (NormAndBiasWeightDecay >= 0 && double.IsFinite(NormAndBiasWeightDecay.Value)), nameof(NormAndBiasWeightDecay), "a finite number of at least 0 (or null)", NormAndBiasWeightDecay);
            Require(LayerLearningRateDecay is > 0 and <= 1, nameof(LayerLearningRateDecay), "in (0, 1]", LayerLearningRateDecay);
            if (ProgressiveLearning is { } progressive)
            {
                Require(progressive.StartImageSize >= 32 && (ImageSize is not { } size || progressive.StartImageSize <= size), "ProgressiveLearning.StartImageSize",
                    "at least 32 and at most ImageSize", progressive.StartImageSize);
                Require(progressive.Stages >= 1 && progressive.Stages <= Epochs, "ProgressiveLearning.Stages", "between 1 and Epochs", progressive.Stages);
                Require(progressive.StartDropoutRate is >= 0 and < 1, "ProgressiveLearning.StartDropoutRate", "in [0, 1)", progressive.StartDropoutRate);
                Require(progressive.StartRandomCropMinimumScale is > 0 and <= 1, "ProgressiveLearning.StartRandomCropMinimumScale", "in (0, 1]", progressive.StartRandomCropMinimumScale);
            }
            Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), "in [0, 1)", ValidationFraction);
            Require(ValidationSet is null || ValidationFraction == 0, nameof(ValidationFraction), "0 when a ValidationSet is given", ValidationFraction);
            Require(EarlyStopping is null || ValidationSet is not null || ValidationFraction > 0, nameof(EarlyStopping), "used with a ValidationSet or a ValidationFraction", EarlyStopping);
            Require(EarlyStopping is null || EarlyStopping.Patience >= 1, "EarlyStopping.Patience", "at least 1", EarlyStopping?.Patience);
            Require(EarlyStopping is null || (EarlyStopping.MinimumImprovement >= 0 && double.IsFinite(EarlyStopping.MinimumImprovement)), "EarlyStopping.MinimumImprovement", "a finite number of at least 0", EarlyStopping?.MinimumImprovement);
            Require(!UseEmaWeights || PretrainedWeights is not null, nameof(UseEmaWeights), "used with PretrainedWeights (the moving average a training checkpoint holds)", UseEmaWeights);
            Require(PretrainedWeights is null || WeightsResolver.IsKnown(PretrainedWeights, Version ?? DefaultVersion), nameof(PretrainedWeights),
                $"an existing weights file (.safetensors or .pth) or a known name ({WeightsRegistry.ImageNet}, or one of {string.Join(", ", WeightsRegistry.Current.All.Select(e => e.Name))})", PretrainedWeights);
            // FreezeBackbone and FrozenBackboneEpochs also need trained weights: PretrainedWeights or a previous model,
            // which only Fit knows (StartsFromTrainedWeights).
            Require(FrozenBackboneEpochs == 0 || (!FreezeBackbone && FrozenBackboneEpochs > 0 && FrozenBackboneEpochs < Epochs), nameof(FrozenBackboneEpochs),
                "0, or (without FreezeBackbone) between 1 and Epochs - 1", FrozenBackboneEpochs);
            Require(UnfrozenLearningRateFactor is > 0 and <= 1, nameof(UnfrozenLearningRateFactor), "in (0, 1]", UnfrozenLearningRateFactor);
            Require(!ResumeFromCheckpoint || CheckpointDirectory is not null, nameof(ResumeFromCheckpoint), "used with a CheckpointDirectory", ResumeFromCheckpoint);
            Require(!OverwriteCheckpoint || (CheckpointDirectory is not null && !ResumeFromCheckpoint), nameof(OverwriteCheckpoint),
                "used with a CheckpointDirectory and without ResumeFromCheckpoint (resuming keeps the checkpoint that overwriting deletes)", OverwriteCheckpoint);
            Require(Threads is null or >= 1, nameof(Threads), "at least 1", Threads);
            Require(InferenceBatchSize >= 1, nameof(InferenceBatchSize), "at least 1", InferenceBatchSize);
            Require(DecodedImageCacheBytes is null or >= 0, nameof(DecodedImageCacheBytes), "at least 0 (or null for the automatic budget)", DecodedImageCacheBytes);
            DeviceSelection.Parse(Device);
            return this;
        }
    }
}

using System.Diagnostics;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.MultiLabel;
using EfficientNet.MLNet.Native;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Trains a model on decoded images: shuffled mini-batches read ahead on the prefetch thread and prepared (augmentation,
/// mixing, soft targets and loss weights: <see cref="BatchPreparation"/>), warm-up and decay over parameter groups, a moving average of
/// the weights if asked, one dispose scope per step (memory stays flat), a full pass over the validation set after every epoch, and early stopping that puts
/// back the best epoch's weights. Its random numbers come from the run's own generator and seed.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly EfficientNetModel model;
    private readonly Device device;
    private readonly EfficientNetTrainer.Options options;
    private readonly PixelNormalization normalization;
    private readonly int seed;
    private readonly Generator generator;
    private readonly Action checkCancellation;
    private readonly Action<EpochMetrics> report;
    private readonly Action<int>? resumed;
    private readonly ClassificationTask task;

    /// <param name="model">The network, on <paramref name="device"/>; its training generator is <paramref name="generator"/>.</param>
    /// <param name="device">Where batches go.</param>
    /// <param name="options">The trainer's options (validated).</param>
    /// <param name="normalization">How pixels become the network's input (the pretrained weights').</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="generator">The run's libtorch generator, reseeded every epoch.</param>
    /// <param name="checkCancellation">Throws when training is cancelled.</param>
    /// <param name="report">Told each epoch's metrics.</param>
    /// <param name="resumed">Told the epoch a checkpoint resumed after.</param>
    /// <param name="task">What the outputs mean: the targets, the loss, what counts as right.</param>
    public TrainingLoop(EfficientNetModel model, Device device, EfficientNetTrainer.Options options, PixelNormalization normalization, int seed, Generator generator,
        Action checkCancellation, Action<EpochMetrics> report, Action<int>? resumed, ClassificationTask task)
    {
        this.task = task;
        this.model = model;
        this.device = device;
        this.options = options;
        this.normalization = normalization;
        this.seed = seed;
        this.generator = generator;
        this.checkCancellation = checkCancellation;
        this.report = report;
        this.resumed = resumed;
    }

    /// <summary>
    /// Runs the epochs; returns the history and the epoch whose weights the model ends with. With a checkpoint folder,
    /// the state is saved after every epoch, and a resumed run starts after the folder's last epoch. With ModelEma the
    /// moving average is validated, kept by early stopping and put into the model at the end.
    /// </summary>
    /// <param name="train">The training images.</param>
    /// <param name="validation">The validation images, or null.</param>
    /// <param name="classWeights">The loss weight of each class, or null for all 1.</param>
    /// <param name="checkpoints">Where to save and resume, or null.</param>
    public (IReadOnlyList<EpochMetrics> History, int KeptEpoch) Run(TrainingImages train, TrainingImages? validation, float[]? classWeights = null, CheckpointFolder? checkpoints = null)
    {
        // For the epochs only: the memory the steps kept is given back when Run returns, before the transformer is built.
        using var memoryReuse = options.ReuseNativeMemory ? NativeMemoryReuse.Begin() : null;
        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var schedule = new LearningRateSchedule(options.LearningRate, (long)Math.Round(options.WarmupEpochs * stepsPerEpoch),
            (long)stepsPerEpoch * options.Epochs, options.Decay);
        // The classifier-first schedule unfreezes the backbone later: the optimizer holds it from the start (a parameter
        // without a gradient is skipped, also by weight decay).
        var trainable = model.parameters().Where(p => p.requires_grad || options.FrozenBackboneEpochs > 0).ToList();
        var groups = ParameterGroups.Of(model, trainable, options.WeightDecay, options.NormAndBiasWeightDecay, options.LayerLearningRateDecay);
        using var optimizer = OptimizerFactory.Create(options.Optimizer, groups, options.LearningRate, options.Momentum);

        using var state = checkpoints?.Start(model, optimizer) ?? new TrainingState();
        if (state.Epoch > 0)
            resumed?.Invoke(state.Epoch);
        if (options.ModelEma is not null && state.AverageWeights is null)
            state.ReplaceAverageWeights(WeightAverage.Start(model));
        var average = options.ModelEma is { } ema ? new WeightAverage(ema, model, state.AverageWeights!) : null;
        var policy = options.AugmentationPolicy == AugmentationPolicy.None ? null
            : new AutoAugmentation(options.AugmentationPolicy, options.RandAugmentOperations, options.RandAugmentMagnitude);
        var erasing = options.RandomErasingProbability > 0
            ? new RandomErasing(options.RandomErasingProbability, normalization.Mean.Select(m => m * 255f).ToArray())
            : null;
        var clock = Stopwatch.StartNew();
        var elapsedBefore = state.Epoch > 0 ? state.History[^1].Elapsed : TimeSpan.Zero;
        for (var epoch = state.Epoch + 1; epoch <= options.Epochs && !state.Stopped; epoch++)
        {
            var unfrozen = options.FrozenBackboneEpochs > 0 && epoch > options.FrozenBackboneEpochs;
            if (unfrozen && model.BackboneFrozen)
                model.UnfreezeBackbone();
            var rateFactor = unfrozen ? options.UnfrozenLearningRateFactor : 1;
            var random = EpochRandom.For(seed, epoch, generator);
            var stage = ProgressiveStage.Of(options.ProgressiveLearning, epoch, options.Epochs, train.Size, model.DropoutRate, options.RandomCropMinimumScale);
            model.SetTrainingDropout(stage.DropoutRate);
            var preparation = new BatchPreparation(train.Size, stage.ImageSize, task, options.LabelSmoothing,
                options.AugmentInUse ? new Augmentation(random.Augmentation, stage.RandomCropMinimumScale, stage.ImageSize, options.HorizontalFlip) : null,
                policy, erasing, options.Mixup is { OffEpoch: var off } mixup && (off is null || epoch < off) ? mixup : null, classWeights, random.Augmentation);
            var epochClock = Stopwatch.StartNew();
            model.train();
            double lossSum = 0, correct = 0;
            int batches = 0, seen = 0;
            foreach (var prepared in Batches(train.Shuffled(options.BatchSize, random.Order), preparation))
            {
                using var batch = prepared;
                checkCancellation();
                OptimizerFactory.SetLearningRate(optimizer, groups, rateFactor * schedule.At(state.Step));
                var (loss, hits) = Step(optimizer, trainable, batch);
                average?.Update(state.Step);
                state.Step++;
                if (!double.IsFinite(loss))
                    throw new EfficientNetException($"The training loss became {loss} in epoch {epoch}; no weights were kept. Lower the learning rate (now {options.LearningRate}), or set GradientClipNorm.");
                lossSum += loss * batch.Labels.Length;
                correct += hits;
                seen += batch.Labels.Length;
                options.BatchCompleted?.Invoke(new TrainingProgress(epoch, options.Epochs, ++batches, stepsPerEpoch, lossSum / seen, correct / seen, elapsedBefore + clock.Elapsed));
            }
            if (seen == 0)
                throw new EfficientNetException($"No training image could be read in epoch {epoch}: every one was skipped as unreadable. See EfficientNetTransformer.SkippedImages or the log.");
            var trainSeconds = epochClock.Elapsed.TotalSeconds;

            // With a moving average, it is what validation measures and early stopping keeps.
            average?.Swap();
            ValidationResult? validated = validation is { Count: > 0 } ? Evaluate(validation) : null;
            if (validated is { Accuracy: double.NaN }) // Evaluate read no image (an accuracy is a number whenever one was read)
            {
                if (options.EarlyStopping is not null)
                    throw new EfficientNetException($"No validation image could be read in epoch {epoch} (every one was skipped as unreadable), and EarlyStopping needs them. See EfficientNetTransformer.SkippedImages or the log.");
                validated = null;
            }
            // Averages over the images this epoch used (skipped unreadable images are not among them).
            var metrics = new EpochMetrics(epoch, lossSum / seen, correct / seen, validated?.Loss, validated?.Accuracy,
                rateFactor * schedule.At(Math.Max(0, state.Step - 1)), seen / Math.Max(trainSeconds, 1e-9), elapsedBefore + clock.Elapsed)
            { TrainImageSize = stage.ImageSize, ValidationMeanAveragePrecision = validated?.MeanAveragePrecision };
            state.History.Add(metrics);

            if (options.EarlyStopping is { } stopping && validated is { } v)
            {
                var value = stopping.Metric switch
                {
                    EarlyStoppingMetric.ValidationLoss => v.Loss,
                    EarlyStoppingMetric.ValidationAccuracy => v.Accuracy,
                    _ => v.MeanAveragePrecision ?? double.NaN,
                };
                if (state.BestValue is not { } best || stopping.IsImprovement(value, best))
                    state.KeepBest(epoch, value, model.state_dict());
                else if (epoch - state.BestEpoch >= stopping.Patience)
                    state.Stopped = true;
            }
            average?.Swap();
            checkpoints?.Save(state, model, optimizer);
            report(metrics);
        }
        model.SetTrainingDropout(model.DropoutRate);
        if (state.BestWeights is { } bestWeights && state.BestEpoch != state.Epoch)
        {
            Restore(bestWeights);
            return (state.History, state.BestEpoch);
        }
        average?.CopyIntoModel();
        return (state.History, state.Epoch);
    }

    /// <summary>
    /// The epoch's prepared batches. The prefetch thread always reads and decodes ahead. On a GPU it also prepares the
    /// batches (augmentation, mixing), which the idle CPU then does while the GPU computes. On a CPU the step already
    /// uses every core, and libtorch work from a second thread competes with it (Fit took 1.4x as long with the
    /// preparation on the prefetch thread, benchmark mode 4 on 2 cores), so batches are prepared between steps.
    /// </summary>
    IEnumerable<TrainingBatch> Batches(IEnumerable<ImageRows> rows, BatchPreparation preparation) => device.type == DeviceType.CPU
        ? Prefetch.Ahead(rows, capacity: 2).Select(preparation.Prepare)
        : Prefetch.Ahead(rows.Select(preparation.Prepare), capacity: 2);

    (double Loss, double Correct) Step(optim.Optimizer optimizer, IReadOnlyList<Parameter> trainable, TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        var pixels = batch.Pixels.to(device);
        var targets = batch.Targets.to(device);
        var weights = batch.Weights?.to(device);
        optimizer.zero_grad();
        var logits = model.call(NetworkInput.From(pixels, normalization));
        var loss = task.Loss(logits, targets, weights);
        loss.backward();
        NoCollectionWindow.Run(() =>
        {
            if (options.GradientClipNorm is { } maxNorm)
                nn.utils.clip_grad_norm_(trainable, maxNorm);
            optimizer.step();
        });
        // Against each image's own labels (with mixing, the share it keeps is the larger one on average).
        return (loss.item<float>(), task.Hits(logits.detach(), batch.Labels));
    }

    /// <summary>
    /// A validation pass in eval mode over every image of the set that could be read: the mean loss (no smoothing, no
    /// weights), the accuracy (multi-label: 1 - Hamming loss at 0.5) and, for multi-label, the mean average precision.
    /// </summary>
    public ValidationResult Evaluate(TrainingImages data)
    {
        var (lossSum, correct, seen, scores, labels) = Pass(data, keepScores: task.Kind == TaskKind.MultiLabel);
        if (seen == 0)
            return new ValidationResult(double.NaN, double.NaN, null);
        double? meanAveragePrecision = null;
        if (scores is not null)
        {
            var mean = AveragePrecision.Mean(Enumerable.Range(0, task.LabelNames.Count)
                .Select(label => AveragePrecision.Of(scores.Select(s => s[label]).ToArray(), labels!.Select(l => l.Contains(label)).ToArray())));
            // None when no validation image has any label: null, not NaN (the history is written as JSON).
            meanAveragePrecision = double.IsNaN(mean) ? null : mean;
        }
        return new ValidationResult(lossSum / seen, correct / seen, meanAveragePrecision);
    }

    /// <summary>The probabilities of every readable image of the set (eval mode), with the images' labels, in data order.</summary>
    public (IReadOnlyList<float[]> Scores, IReadOnlyList<int[]> Labels) Probabilities(TrainingImages data)
    {
        var (_, _, _, scores, labels) = Pass(data, keepScores: true);
        return (scores!, labels!);
    }

    (double LossSum, double Correct, int Seen, List<float[]>? Scores, List<int[]>? Labels) Pass(TrainingImages data, bool keepScores)
    {
        model.eval();
        using var noGrad = no_grad();
        double lossSum = 0, correct = 0;
        var seen = 0;
        var scores = keepScores ? new List<float[]>() : null;
        var labels = keepScores ? new List<int[]>() : null;
        foreach (var batch in Prefetch.Ahead(data.InOrder(options.InferenceBatchSize), capacity: 2))
        {
            checkCancellation();
            using var scope = NewDisposeScope();
            var logits = model.call(NetworkInput.FromImages(batch.Images, data.Size, device, normalization));
            lossSum += task.LossSum(logits, batch.Labels).item<float>();
            correct += task.Hits(logits, batch.Labels);
            seen += batch.Labels.Length;
            if (scores is not null)
            {
                var probabilities = task.Probabilities(logits).to(ScalarType.Float32).cpu();
                var flat = probabilities.data<float>().ToArray();
                var width = task.LabelNames.Count;
                scores.AddRange(Enumerable.Range(0, batch.Labels.Length).Select(i => flat.AsSpan(i * width, width).ToArray()));
                labels!.AddRange(batch.Labels);
            }
        }
        return (lossSum, correct, seen, scores, labels);
    }

    void Restore(Dictionary<string, Tensor> weights)
    {
        using var noGrad = no_grad();
        foreach (var (name, target) in model.state_dict())
            target.copy_(weights[name]);
    }
}

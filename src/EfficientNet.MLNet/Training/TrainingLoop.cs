using System.Diagnostics;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>What the loop needs besides the model and the data: all plain values, taken from the trainer's options.</summary>
internal sealed record TrainingSettings(
    int Epochs, int BatchSize, OptimizerKind Optimizer, double LearningRate, double WeightDecay, double Momentum,
    double WarmupEpochs, LearningRateDecay Decay, double LabelSmoothing, double? GradientClipNorm,
    bool Augment, double RandomCropMinimumScale, EarlyStopping? EarlyStopping, int InferenceBatchSize);

/// <summary>
/// Trains a model on decoded images: shuffled mini-batches, augmentation, warm-up and decay, one dispose scope per
/// step (memory stays flat), a full pass over the validation set after every epoch, and early stopping that puts
/// back the best epoch's weights.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly EfficientNetModel model;
    private readonly Device device;
    private readonly TrainingSettings settings;
    private readonly int seed;
    private readonly Action checkCancellation;
    private readonly Action<EpochMetrics> report;
    private readonly Action<TrainingProgress>? reportBatch;
    private readonly Action<int>? resumed;

    public TrainingLoop(EfficientNetModel model, Device device, TrainingSettings settings, int seed, Action checkCancellation,
        Action<EpochMetrics> report, Action<TrainingProgress>? reportBatch = null, Action<int>? resumed = null)
    {
        this.resumed = resumed;
        this.reportBatch = reportBatch;
        this.model = model;
        this.device = device;
        this.settings = settings;
        this.seed = seed;
        this.checkCancellation = checkCancellation;
        this.report = report;
    }

    /// <summary>
    /// Runs the epochs; returns the history and the epoch whose weights the model ends with. With a checkpoint folder,
    /// the state is saved after every epoch, and a resumed run starts after the folder's last epoch.
    /// </summary>
    public (IReadOnlyList<EpochMetrics> History, int KeptEpoch) Run(TrainingImages train, TrainingImages? validation, CheckpointFolder? checkpoints = null)
    {
        var stepsPerEpoch = (train.Count + settings.BatchSize - 1) / settings.BatchSize;
        var schedule = new LearningRateSchedule(settings.LearningRate, (long)Math.Round(settings.WarmupEpochs * stepsPerEpoch),
            (long)stepsPerEpoch * settings.Epochs, settings.Decay);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = OptimizerFactory.Create(settings.Optimizer, trainable,
            settings.LearningRate, settings.WeightDecay, settings.Momentum);

        var history = new List<EpochMetrics>();
        var clock = Stopwatch.StartNew();
        var elapsedBefore = TimeSpan.Zero;
        long step = 0;
        double? best = null;
        var bestEpoch = 0;
        var stopped = false;
        Dictionary<string, Tensor>? bestWeights = null;
        try
        {
            if (checkpoints is { Resume: true } && checkpoints.Load(model, optimizer) is var (checkpoint, savedBest))
            {
                history.AddRange(checkpoint.History);
                step = checkpoint.Step;
                best = checkpoint.BestValue;
                bestEpoch = checkpoint.BestEpoch;
                bestWeights = savedBest;
                stopped = checkpoint.Stopped;
                elapsedBefore = checkpoint.History.Count > 0 ? checkpoint.History[^1].Elapsed : TimeSpan.Zero;
                resumed?.Invoke(checkpoint.Epoch);
            }
            for (var epoch = history.Count + 1; epoch <= settings.Epochs && !stopped; epoch++)
            {
                var random = EpochRandom.For(seed, epoch);
                var augmentation = settings.Augment ? new Augmentation(random.Augmentation, settings.RandomCropMinimumScale) : null;
                var epochClock = Stopwatch.StartNew();
                model.train();
                double lossSum = 0, correct = 0;
                int batches = 0, seen = 0;
                foreach (var batch in Prefetch.Ahead(train.Shuffled(settings.BatchSize, random.Order), capacity: 2))
                {
                    checkCancellation();
                    OptimizerFactory.SetLearningRate(optimizer, schedule.At(step++));
                    var (loss, hits) = Step(optimizer, trainable, augmentation, train.Size, batch);
                    if (!double.IsFinite(loss))
                        throw new EfficientNetException($"The training loss became {loss} in epoch {epoch}; no weights were kept. Lower the learning rate (now {settings.LearningRate}), or set GradientClipNorm.");
                    lossSum += loss * batch.Labels.Length;
                    correct += hits;
                    seen += batch.Labels.Length;
                    reportBatch?.Invoke(new TrainingProgress(epoch, settings.Epochs, ++batches, stepsPerEpoch, lossSum / seen, correct / seen, elapsedBefore + clock.Elapsed));
                }
                var trainSeconds = epochClock.Elapsed.TotalSeconds;

                (double Loss, double Accuracy)? validated = validation is { Count: > 0 } ? Evaluate(validation) : null;
                var metrics = new EpochMetrics(epoch, lossSum / train.Count, correct / train.Count, validated?.Loss, validated?.Accuracy,
                    schedule.At(Math.Max(0, step - 1)), train.Count / Math.Max(trainSeconds, 1e-9), elapsedBefore + clock.Elapsed);
                history.Add(metrics);

                if (settings.EarlyStopping is { } stopping && validated is { } v)
                {
                    var value = stopping.Metric == EarlyStoppingMetric.ValidationLoss ? v.Loss : v.Accuracy;
                    if (best is null || stopping.IsImprovement(value, best.Value))
                    {
                        best = value;
                        bestEpoch = epoch;
                        DisposeAll(bestWeights);
                        bestWeights = Snapshot();
                    }
                    else if (epoch - bestEpoch >= stopping.Patience)
                    {
                        stopped = true;
                    }
                }
                checkpoints?.Save(epoch, step, history, bestEpoch, best, stopped, model, optimizer, bestWeights);
                report(metrics);
            }
            if (bestWeights is not null && bestEpoch != history.Count)
            {
                Restore(bestWeights);
                return (history, bestEpoch);
            }
            return (history, history.Count);
        }
        finally
        {
            DisposeAll(bestWeights);
        }
    }

    (double Loss, int Correct) Step(optim.Optimizer optimizer, IReadOnlyList<Parameter> trainable, Augmentation? augmentation, int size, ImageRows batch)
    {
        using var scope = NewDisposeScope();
        var pixels = NetworkInput.Stack(batch.Images, size, device).to(ScalarType.Float32);
        if (augmentation is not null)
            pixels = augmentation.Apply(pixels);
        var target = tensor(batch.Labels, device: device);
        optimizer.zero_grad();
        var logits = model.call(NetworkInput.From(pixels));
        var loss = nn.functional.cross_entropy(logits, target, label_smoothing: settings.LabelSmoothing);
        loss.backward();
        if (settings.GradientClipNorm is { } maxNorm)
            nn.utils.clip_grad_norm_(trainable, maxNorm);
        optimizer.step();
        return (loss.item<float>(), (int)logits.argmax(1).eq(target).sum().item<long>());
    }

    /// <summary>Mean cross-entropy (no smoothing) and accuracy over every image of the set, in eval mode.</summary>
    public (double Loss, double Accuracy) Evaluate(TrainingImages data)
    {
        model.eval();
        using var noGrad = no_grad();
        double lossSum = 0, correct = 0;
        foreach (var batch in Prefetch.Ahead(data.InOrder(settings.InferenceBatchSize), capacity: 2))
        {
            checkCancellation();
            using var scope = NewDisposeScope();
            var pixels = NetworkInput.Stack(batch.Images, data.Size, device);
            var target = tensor(batch.Labels, device: device);
            var logits = model.call(NetworkInput.From(pixels));
            lossSum += nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(target).sum().item<long>();
        }
        return (lossSum / data.Count, correct / data.Count);
    }

    Dictionary<string, Tensor> Snapshot() => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    void Restore(Dictionary<string, Tensor> weights)
    {
        using var noGrad = no_grad();
        foreach (var (name, target) in model.state_dict())
            target.copy_(weights[name]);
    }

    static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var t in tensors.Values) t.Dispose();
    }
}

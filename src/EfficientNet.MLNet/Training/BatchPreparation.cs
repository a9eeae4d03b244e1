using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Tasks;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Turns an epoch's decoded rows into <see cref="TrainingBatch"/>es, in this order: stack, random resized crop and flip
/// (or a plain resize to a progressive stage's size), the augmentation policy and random erasing per image, mixup or
/// CutMix per batch, then soft targets and loss weights, as CPU tensors (on a GPU the prefetch thread runs it while the
/// step computes: see TrainingLoop.Batches). All its draws come from the epoch's augmentation source, in batch order,
/// so a run is reproducible and a resumed epoch draws what the uninterrupted one drew, on whichever thread it runs.
/// </summary>
internal sealed class BatchPreparation
{
    private readonly int size, outputSize;
    private readonly ClassificationTask task;
    private readonly double labelSmoothing;
    private readonly Augmentation? crop;
    private readonly AutoAugmentation? policy;
    private readonly RandomErasing? erasing;
    private readonly Mixup? mixup;
    private readonly float[]? classWeights;
    private readonly Random random;

    /// <param name="size">The decoded images' size.</param>
    /// <param name="outputSize">The size the step trains at (a progressive stage's, or <paramref name="size"/>).</param>
    /// <param name="task">Makes the targets.</param>
    /// <param name="labelSmoothing">The targets' label smoothing.</param>
    /// <param name="crop">Random resized crop and flip, or null (no augmentation).</param>
    /// <param name="policy">TrivialAugmentWide or RandAugment, or null.</param>
    /// <param name="erasing">Random erasing, or null.</param>
    /// <param name="mixup">Mixup and CutMix, or null (off, or off in this epoch).</param>
    /// <param name="classWeights">The loss weight of each class (multiclass only), or null for all 1.</param>
    /// <param name="random">The epoch's augmentation source.</param>
    public BatchPreparation(int size, int outputSize, ClassificationTask task, double labelSmoothing, Augmentation? crop, AutoAugmentation? policy,
        RandomErasing? erasing, Mixup? mixup, float[]? classWeights, Random random)
    {
        this.size = size;
        this.outputSize = outputSize;
        this.task = task;
        this.labelSmoothing = labelSmoothing;
        this.crop = crop;
        this.policy = policy;
        this.erasing = erasing;
        this.mixup = mixup;
        this.classWeights = classWeights;
        this.random = random;
    }

    public TrainingBatch Prepare(ImageRows rows)
    {
        using var scope = NewDisposeScope();
        var pixels = NetworkInput.Stack(rows.Images, size, CPU).to(ScalarType.Float32);
        if (crop is not null)
            pixels = crop.Apply(pixels);
        else if (outputSize != size)
            pixels = Augmentation.Resize(pixels, outputSize);
        if (policy is not null || erasing is not null)
            pixels = cat(Enumerable.Range(0, rows.Labels.Length).Select(i => EachImage(pixels.narrow(0, i, 1))).ToList(), 0);

        var weights = Weights(rows);
        var lambda = 1.0;
        if (mixup is not null)
        {
            (pixels, lambda) = BatchMixing.Mix(pixels, mixup, random);
            if (weights is not null)
                weights = BatchMixing.Weights(weights, lambda);
        }
        var targets = tensor(task.Targets(rows.Labels, lambda, labelSmoothing), new long[] { rows.Labels.Length, task.LabelNames.Count });
        var weightTensor = weights is null ? null : tensor(weights);
        return new TrainingBatch(pixels.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope(), weightTensor?.MoveToOuterDisposeScope(), rows.Labels);
    }

    Tensor EachImage(Tensor image)
    {
        var result = policy is not null ? policy.Apply(image, random) : image.clone();
        erasing?.Apply(result, random);
        return result;
    }

    // Class weight x example weight of each row; null when there are neither.
    float[]? Weights(ImageRows rows)
    {
        if (classWeights is null && rows.Weights is null)
            return null;
        return rows.Labels.Select((labels, i) => (classWeights?[labels[0]] ?? 1f) * (rows.Weights?[i] ?? 1f)).ToArray();
    }
}

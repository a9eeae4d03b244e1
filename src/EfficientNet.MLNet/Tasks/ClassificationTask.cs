using Microsoft.ML;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tasks;

/// <summary>
/// What differs between one class per image and several labels per image, in one place, for the one trainer, training
/// loop and transformer both kinds share: how a label column is read, the targets, the loss, the head's activation and
/// how a running accuracy counts. Everything else (images, augmentation, the recipe, checkpoints, weights, engines,
/// ONNX) does not know which kind it serves.
/// </summary>
internal abstract class ClassificationTask
{
    protected ClassificationTask(IReadOnlyList<string> labelNames) => LabelNames = labelNames;

    /// <summary>The task the options ask for, its label names read from the training data.</summary>
    public static ClassificationTask For(EfficientNetTrainer.Options options, IDataView training) => options.MultiLabel is { } multiLabel
        ? MultiLabelTask.Read(training, options.LabelColumnName, multiLabel)
        : SingleLabelTask.Read(training.Schema, options.LabelColumnName);

    /// <summary>The classes or labels, in the order of the network's outputs.</summary>
    public IReadOnlyList<string> LabelNames { get; }

    public abstract TaskKind Kind { get; }

    /// <summary>
    /// The label column of <paramref name="schema"/>, read against <see cref="LabelNames"/> (validation data must mean the
    /// same labels as the training data).
    /// </summary>
    public abstract LabelReading Labels(DataViewSchema schema, string column, string dataName);

    /// <summary>
    /// Soft targets (N, labels) for rows of labels, mixed with the mirrored rows by <paramref name="lambda"/> (mixup,
    /// CutMix: 1 for none) and smoothed by <paramref name="smoothing"/>.
    /// </summary>
    public abstract float[] Targets(IReadOnlyList<int[]> labels, double lambda, double smoothing);

    /// <summary>The training loss of a batch, each row's loss weighted by <paramref name="rowWeights"/> (null: all 1).</summary>
    public abstract Tensor Loss(Tensor logits, Tensor targets, Tensor? rowWeights);

    /// <summary>The summed unweighted, unsmoothed loss of the rows (validation loss).</summary>
    public abstract Tensor LossSum(Tensor logits, IReadOnlyList<int[]> labels);

    /// <summary>The head's activation: softmax over the classes, or a sigmoid per label.</summary>
    public abstract Tensor Probabilities(Tensor logits);

    /// <summary>
    /// How many rows were classified right: the rows whose most probable class is theirs, or per row the share of its
    /// labels decided right at probability 0.5 (so that accuracy is 1 - Hamming loss).
    /// </summary>
    public abstract double Hits(Tensor logits, IReadOnlyList<int[]> labels);

    /// <summary>The rows' labels as 0/1 flags (N, labels), on <paramref name="device"/>.</summary>
    protected Tensor MultiHot(IReadOnlyList<int[]> labels, Device device)
    {
        var flags = new float[labels.Count * LabelNames.Count];
        for (var row = 0; row < labels.Count; row++)
            foreach (var label in labels[row])
                flags[row * LabelNames.Count + label] = 1;
        return tensor(flags, new long[] { labels.Count, LabelNames.Count }, device: device);
    }
}

using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tasks;

/// <summary>One class per image: a key label column, softmax, cross-entropy against label-smoothed (and mixed) one-hot targets.</summary>
internal sealed class SingleLabelTask : ClassificationTask
{
    private SingleLabelTask(IReadOnlyList<string> classNames) : base(classNames)
    {
    }

    /// <summary>The task of a key label column, its classes the key values.</summary>
    public static SingleLabelTask Read(DataViewSchema schema, string column) => new(LabelColumn.Find(schema, column).ClassNames);

    public override TaskKind Kind => TaskKind.Multiclass;

    public override LabelReading Labels(DataViewSchema schema, string column, string dataName)
    {
        var (found, names) = LabelColumn.Find(schema, column);
        if (!names.SequenceEqual(LabelNames))
        {
            var sameClasses = names.Order().SequenceEqual(LabelNames.Order());
            var data = dataName.StartsWith("the ", StringComparison.Ordinal) ? dataName[4..] : dataName;
            throw new EfficientNetException(
                $"The {data}'s label column has {(sameClasses ? "the same classes in another order" : "other classes")} (training data: {string.Join(", ", LabelNames)}; {data}: {string.Join(", ", names)}), " +
                "so its keys would mean other classes. Fit one MapValueToKey (on the training data, or on all the data) and apply that fitted transformer to both sets.");
        }
        return new LabelReading(found, cursor =>
        {
            var getter = cursor.GetGetter<uint>(found);
            uint key = 0;
            return () =>
            {
                getter(ref key);
                if (key == 0)
                    throw new DataRowException(cursor.Position, found.Name, "it has no value (a missing key). Remove unlabelled rows, or give them a class", dataName);
                return new[] { (int)key - 1 };
            };
        });
    }

    public override float[] Targets(IReadOnlyList<int[]> labels, double lambda, double smoothing) =>
        BatchMixing.Targets(labels, LabelNames.Count, lambda, smoothing, smoothingShare: 1.0 / LabelNames.Count);

    public override Tensor Loss(Tensor logits, Tensor targets, Tensor? rowWeights) => SoftTargetLoss.Of(logits, targets, rowWeights);

    public override Tensor LossSum(Tensor logits, IReadOnlyList<int[]> labels)
    {
        using var target = Classes(labels, logits.device);
        return nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.Sum);
    }

    public override Tensor Probabilities(Tensor logits) => logits.softmax(1);

    public override double Hits(Tensor logits, IReadOnlyList<int[]> labels)
    {
        using var scope = NewDisposeScope();
        return logits.argmax(1).eq(Classes(labels, logits.device)).sum().item<long>();
    }

    static Tensor Classes(IReadOnlyList<int[]> labels, Device device) => tensor(labels.Select(l => (long)l[0]).ToArray(), device: device);
}

using System.Globalization;
using EfficientNet.MLNet.MultiLabel;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tasks;

/// <summary>
/// Several labels per image: a label column of label sets (<see cref="LabelSets"/>), a sigmoid per label, binary
/// cross-entropy (with weights on rare labels' positives) or the asymmetric loss against multi-hot targets, smoothed
/// towards 1/2 and mixed as the images are.
/// </summary>
internal sealed class MultiLabelTask : ClassificationTask
{
    private readonly MultiLabelOptions options;
    private float[]? positiveWeights;

    private MultiLabelTask(IReadOnlyList<string> labelNames, MultiLabelOptions options) : base(labelNames) => this.options = options;

    /// <summary>
    /// The task of a label-set column, its labels the options' or else the data's (the key values of a key vector, else the
    /// distinct labels in ordinal order); every row's labels are checked against them.
    /// </summary>
    public static MultiLabelTask Read(IDataView data, string column, MultiLabelOptions options) =>
        new(LabelSets.Read(data, column, options.Labels, options.Separator, "the training data").Names, options);

    public override TaskKind Kind => TaskKind.MultiLabel;

    /// <summary>The weight on each label's positives in binary cross-entropy (null: all 1).</summary>
    public IReadOnlyList<float>? PositiveWeights => positiveWeights;

    /// <summary>
    /// Sets the positive weights from the training rows' label counts, as the options ask; returns a sentence for the log
    /// naming the weighted labels, or null when none is.
    /// </summary>
    public string? WeighPositives(IReadOnlyDictionary<long, int> labelCounts, int rows)
    {
        if (options.Loss != MultiLabelLossKind.BinaryCrossEntropy || !options.PositiveWeights)
            return null;
        var counts = Enumerable.Range(0, LabelNames.Count).Select(label => labelCounts.GetValueOrDefault(label)).ToArray();
        var weights = MultiLabelLoss.PositiveWeights(counts, rows, MultiLabelOptions.MaximumPositiveWeight);
        if (weights.All(w => w == 1))
            return null;
        positiveWeights = weights;
        return "Weights on the positives of " + string.Join(", ", LabelNames.Select((name, label) => (name, label)).Where(p => weights[p.label] != 1)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.name} {weights[p.label]:0.##} ({counts[p.label]} of {rows} rows)"))) + ".";
    }

    public override LabelReading Labels(DataViewSchema schema, string column, string dataName)
    {
        var found = LabelSets.Find(schema, column, options.Separator, dataName);
        var indices = LabelSets.Indices(LabelNames);
        return new LabelReading(found, cursor =>
        {
            var labels = LabelSets.Getter(cursor, found, options.Separator);
            return () => labels().Select(label => LabelSets.Index(indices, label, cursor.Position, found.Name, dataName)).Order().ToArray();
        });
    }

    public override float[] Targets(IReadOnlyList<int[]> labels, double lambda, double smoothing) =>
        BatchMixing.Targets(labels, LabelNames.Count, lambda, smoothing, smoothingShare: 0.5);

    public override Tensor Loss(Tensor logits, Tensor targets, Tensor? rowWeights)
    {
        if (options.Loss == MultiLabelLossKind.Asymmetric)
            return MultiLabelLoss.Asymmetric(logits, targets, options.GammaPositive, options.GammaNegative, options.Clip, rowWeights: rowWeights);
        using var weights = positiveWeights is null ? null : tensor(positiveWeights, device: logits.device);
        return MultiLabelLoss.BinaryCrossEntropy(logits, targets, weights, rowWeights);
    }

    public override Tensor LossSum(Tensor logits, IReadOnlyList<int[]> labels)
    {
        using var scope = NewDisposeScope();
        using var targets = MultiHot(labels, logits.device);
        using var mean = MultiLabelLoss.BinaryCrossEntropy(logits, targets);
        return mean.mul(labels.Count).MoveToOuterDisposeScope();
    }

    public override Tensor Probabilities(Tensor logits) => logits.sigmoid();

    public override double Hits(Tensor logits, IReadOnlyList<int[]> labels)
    {
        using var scope = NewDisposeScope();
        // p >= 0.5 exactly where the logit is >= 0.
        var decided = logits.ge(0).to(ScalarType.Float32);
        return decided.eq(MultiHot(labels, logits.device)).to(ScalarType.Float32).mean(new long[] { 1 }).sum().item<float>();
    }
}

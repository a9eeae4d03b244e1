namespace EfficientNet.MLNet.Tasks;

/// <summary>
/// What a multi-label model keeps beside its weights: each label's decision threshold (a row has the label when its
/// probability is at least it), how they were chosen ("f1", "precision>=0.9", "set"), and the separator of its text labels.
/// </summary>
internal sealed record MultiLabelDecisions(float[] Thresholds, string ThresholdPolicy, char Separator);

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>One label's figures over a set of rows, at its decision threshold.</summary>
/// <param name="Label">The label's name.</param>
/// <param name="AveragePrecision">Threshold-free ranking quality (NaN when no row has the label).</param>
/// <param name="Precision">Of the rows predicted to have the label, the part that have it (0 when none is predicted).</param>
/// <param name="Recall">Of the rows that have the label, the part predicted (0 when none has it).</param>
/// <param name="F1">The harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="Support">The rows that have the label.</param>
/// <param name="Threshold">The decision threshold used: a row has the label when its probability is at least this.</param>
public sealed record LabelMetrics(string Label, double AveragePrecision, double Precision, double Recall, double F1, int Support, float Threshold);

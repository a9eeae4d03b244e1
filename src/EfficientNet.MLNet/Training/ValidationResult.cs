namespace EfficientNet.MLNet.Training;

/// <summary>One validation pass: mean loss, accuracy (multi-label: 1 - Hamming loss at 0.5) and, for multi-label, the mean average precision.</summary>
internal sealed record ValidationResult(double Loss, double Accuracy, double? MeanAveragePrecision);

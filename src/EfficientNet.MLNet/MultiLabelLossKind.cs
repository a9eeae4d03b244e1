namespace EfficientNet.MLNet;

/// <summary>The loss of a multi-label model's sigmoid head.</summary>
public enum MultiLabelLossKind
{
    /// <summary>Binary cross-entropy per label (PyTorch's BCEWithLogitsLoss), with per-label weights on the positives.</summary>
    BinaryCrossEntropy,

    /// <summary>
    /// The asymmetric loss of Ridnik et al. (2021): focuses on hard negatives and ignores easy ones below a probability
    /// margin; for heavily imbalanced labels (many labels, few per image).
    /// </summary>
    Asymmetric,
}

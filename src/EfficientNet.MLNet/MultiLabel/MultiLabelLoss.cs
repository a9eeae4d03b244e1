using static TorchSharp.torch;

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// The losses of a head with one sigmoid per label, summed over the labels and averaged over the rows (so that their
/// scale does not depend on the batch size): binary cross-entropy with a weight on each label's positives (PyTorch's
/// BCEWithLogitsLoss with pos_weight), and the asymmetric loss of Ridnik et al. (2021, "Asymmetric Loss For Multi-Label
/// Classification"), which focuses the negatives more than the positives and discards easy negatives below a margin.
/// </summary>
internal static class MultiLabelLoss
{
    /// <summary>Binary cross-entropy of logits against 0/1 (or mixed) targets, each label's positive term weighted by <paramref name="positiveWeights"/> (null: 1).</summary>
    /// <param name="logits">[rows, labels].</param>
    /// <param name="targets">[rows, labels], in 0..1.</param>
    /// <param name="positiveWeights">[labels] or null.</param>
    /// <param name="rowWeights">[rows] or null: each row's loss weighted (<see cref="Training.RowWeightedMean"/>).</param>
    public static Tensor BinaryCrossEntropy(Tensor logits, Tensor targets, Tensor? positiveWeights = null, Tensor? rowWeights = null)
    {
        using var scope = NewDisposeScope();
        // log(sigmoid(x)) = -softplus(-x), log(1 - sigmoid(x)) = -softplus(x).
        var positiveTerm = targets * Softplus(-logits);
        if (positiveWeights is not null)
            positiveTerm = positiveTerm * positiveWeights;
        var loss = positiveTerm + (1 - targets) * Softplus(logits);
        return Training.RowWeightedMean.Of(loss.sum(1), rowWeights).MoveToOuterDisposeScope();
    }

    // log(1 + e^x) by libtorch's softplus: finite for logits of any size (x itself above 20, where log(1 + e^x) = x in
    // float32), and its gradient is sigmoid(x) everywhere. Written as max(x, 0) + log(1 + e^-|x|) it had no gradient at
    // x = 0 (relu's and abs's are 0 there), and a zeroed classifier head starts every logit at exactly 0: nothing learned.
    static Tensor Softplus(Tensor x) => nn.functional.softplus(x);

    /// <summary>
    /// The asymmetric loss: with p = sigmoid(x) and p_m = max(p - <paramref name="clip"/>, 0) for the negatives,
    /// -[y (1 - p)^γ+ log p + (1 - y) p_m^γ- log(1 - p_m)], log's argument kept above <paramref name="epsilon"/>. Linear
    /// in the targets, so mixed targets (mixup, CutMix) mix the two terms; the authors' code instead blends the focusing
    /// weights of the two (the same for 0/1 targets). The focusing weights carry gradient here (the authors' training
    /// script stops it, disable_torch_grad_focal_loss): a choice to measure when the trainer uses this loss.
    /// </summary>
    /// <param name="logits">[rows, labels].</param>
    /// <param name="targets">[rows, labels], in 0..1.</param>
    /// <param name="gammaPositive">γ+, the positives' focusing (0 in the paper).</param>
    /// <param name="gammaNegative">γ-, the negatives' focusing (4 in the paper).</param>
    /// <param name="clip">The probability margin below which a negative costs nothing (0.05 in the paper).</param>
    /// <param name="epsilon">The smallest argument of the logarithms.</param>
    /// <param name="rowWeights">[rows] or null: each row's loss weighted (<see cref="Training.RowWeightedMean"/>).</param>
    public static Tensor Asymmetric(Tensor logits, Tensor targets, double gammaPositive = 0, double gammaNegative = 4, double clip = 0.05, double epsilon = 1e-8,
        Tensor? rowWeights = null)
    {
        using var scope = NewDisposeScope();
        var positive = logits.sigmoid();
        var negative = 1 - positive;
        if (clip > 0)
            negative = (negative + clip).clamp_max(1); // 1 - p_m
        var positiveTerm = targets * positive.clamp_min(epsilon).log();
        var negativeTerm = (1 - targets) * negative.clamp_min(epsilon).log();
        if (gammaPositive > 0)
            positiveTerm = positiveTerm * (1 - positive).pow(gammaPositive);
        if (gammaNegative > 0)
            negativeTerm = negativeTerm * (1 - negative).pow(gammaNegative); // p_m^γ-
        return Training.RowWeightedMean.Of(-(positiveTerm + negativeTerm).sum(1), rowWeights).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each label's weight on its positives from how often it occurs: negatives / positives (PyTorch's suggestion for
    /// pos_weight), at least 1 and at most <paramref name="maximum"/> (a label seen once would otherwise weigh thousands).
    /// </summary>
    public static float[] PositiveWeights(IReadOnlyList<int> positives, int rows, float maximum = 10)
    {
        if (positives.Any(p => p < 0 || p > rows))
            throw new ArgumentException($"Each label occurs in 0 to {rows} rows.", nameof(positives));
        return positives.Select(p => p == 0 ? 1f : Math.Clamp((float)(rows - p) / p, 1f, maximum)).ToArray();
    }
}

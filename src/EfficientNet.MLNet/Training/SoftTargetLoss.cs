using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The training loss: cross-entropy against soft targets (label smoothing, mixup and CutMix all make them), each image's
/// loss weighted and averaged by its weight (class weight x example weight): sum(w_i l_i) / sum(w_i), which is
/// PyTorch's weighted mean for class weights and the plain mean when every weight is 1.
/// </summary>
internal static class SoftTargetLoss
{
    /// <param name="logits">(N, classes).</param>
    /// <param name="targets">(N, classes), rows summing to 1.</param>
    /// <param name="weights">(N), or null for all 1.</param>
    public static Tensor Of(Tensor logits, Tensor targets, Tensor? weights)
    {
        using var logProbabilities = logits.log_softmax(1);
        using var products = logProbabilities.mul(targets);
        using var perImage = products.sum(1).neg();
        if (weights is null)
            return perImage.mean();
        using var weighted = perImage.mul(weights);
        using var total = weighted.sum();
        // A batch whose weights are all 0 (e.g. rows weighted 0) adds nothing instead of dividing by 0.
        using var weightSum = weights.sum().clamp_min(Scalars.Of(1e-12));
        return total.div(weightSum);
    }
}

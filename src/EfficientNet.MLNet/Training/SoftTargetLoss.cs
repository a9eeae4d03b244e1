using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The multiclass training loss: cross-entropy against soft targets (label smoothing, mixup and CutMix all make them),
/// each image's loss weighted and averaged by its weight (<see cref="RowWeightedMean"/>).
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
        return RowWeightedMean.Of(perImage, weights);
    }
}

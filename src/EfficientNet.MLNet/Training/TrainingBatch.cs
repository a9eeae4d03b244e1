using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// A training batch ready for the step, made on the prefetch thread: augmented and mixed float pixels (N, 3, S, S,
/// 0..255, on the CPU), soft targets (N, outputs), loss weights (N, or null when all are 1) and each image's own labels
/// (for the running accuracy). It owns its tensors.
/// </summary>
internal sealed record TrainingBatch(Tensor Pixels, Tensor Targets, Tensor? Weights, int[][] Labels) : IDisposable
{
    public void Dispose()
    {
        Pixels.Dispose();
        Targets.Dispose();
        Weights?.Dispose();
    }
}

using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The mean of per-row losses, each weighted by its row's weight (class weight x example weight): sum(w_i l_i) / sum(w_i),
/// which is PyTorch's weighted mean for class weights and the plain mean when every weight is 1.
/// </summary>
internal static class RowWeightedMean
{
    /// <param name="perRow">(N) losses.</param>
    /// <param name="weights">(N), or null for all 1.</param>
    public static Tensor Of(Tensor perRow, Tensor? weights)
    {
        if (weights is null)
            return perRow.mean();
        using var weighted = perRow.mul(weights);
        using var total = weighted.sum();
        // A batch whose weights are all 0 (e.g. rows weighted 0) adds nothing instead of dividing by 0.
        using var weightSum = weights.sum().clamp_min(Scalars.Of(1e-12));
        return total.div(weightSum);
    }
}

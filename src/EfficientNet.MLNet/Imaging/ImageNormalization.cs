using static TorchSharp.torch;

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// ImageNet normalization, applied inside the model so that a saved model is self-contained: callers give RGB
/// bytes, the network sees (x / 255 - mean) / std per channel, as torchvision's pretrained weights expect.
/// </summary>
public static class ImageNormalization
{
    /// <summary>ImageNet per-channel mean (R, G, B) of pixel values scaled to 0..1.</summary>
    public static IReadOnlyList<float> Mean { get; } = new[] { 0.485f, 0.456f, 0.406f };

    /// <summary>ImageNet per-channel standard deviation (R, G, B).</summary>
    public static IReadOnlyList<float> Std { get; } = new[] { 0.229f, 0.224f, 0.225f };

    /// <summary>A (N, 3, H, W) byte or float batch with values 0..255, normalized to float32 on the batch's device.</summary>
    public static Tensor Apply(Tensor pixels)
    {
        // (x / 255 - mean) / std as x * scale + shift, per channel, with tensors only (no implicit Scalars).
        using var scope = NewDisposeScope();
        var scale = tensor(Std.Select(s => 1f / (255f * s)).ToArray(), device: pixels.device).view(1, 3, 1, 1);
        var shift = tensor(Mean.Zip(Std, (m, s) => -m / s).ToArray(), device: pixels.device).view(1, 3, 1, 1);
        return pixels.to(ScalarType.Float32).mul(scale).add(shift).MoveToOuterDisposeScope();
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// What the network is given in training and scoring, from planar RGB bytes: a (N, 3, S, S) batch, ImageNet
/// normalization ((x / 255 - mean) / std per channel, inside the model so that a saved model is self-contained and
/// torchvision's weights see what they expect), in channels-last memory layout. The shape stays NCHW; only the
/// strides change (TorchSharp 0.107 has no memory_format argument, so the layout is made by permuting to NHWC,
/// copying, and permuting back), and libtorch's convolutions keep that layout through the network.
/// </summary>
internal static class NetworkInput
{
    /// <summary>ImageNet per-channel mean (R, G, B) of pixel values scaled to 0..1.</summary>
    public static IReadOnlyList<float> Mean { get; } = new[] { 0.485f, 0.456f, 0.406f };

    /// <summary>ImageNet per-channel standard deviation (R, G, B).</summary>
    public static IReadOnlyList<float> Std { get; } = new[] { 0.229f, 0.224f, 0.225f };

    /// <summary>Planar RGB images (3 x size x size bytes each), as the network's input on <paramref name="device"/>.</summary>
    public static Tensor FromImages(IReadOnlyList<byte[]> images, int size, Device device)
    {
        using var pixels = Stack(images, size, device);
        return From(pixels);
    }

    /// <summary>Stacks planar RGB images (3 x size x size bytes each) into one (N, 3, size, size) byte tensor.</summary>
    public static Tensor Stack(IReadOnlyList<byte[]> images, int size, Device device)
    {
        var imageBytes = 3 * size * size;
        var buffer = new byte[images.Count * imageBytes];
        for (var i = 0; i < images.Count; i++)
            images[i].CopyTo(buffer, i * imageBytes);
        var batch = tensor(buffer, new long[] { images.Count, 3, size, size });
        if (device.type == DeviceType.CPU)
            return batch;
        using (batch)
            return batch.to(device);
    }

    /// <summary>A (N, 3, H, W) byte or float batch with values 0..255, normalized, in channels-last layout.</summary>
    public static Tensor From(Tensor pixels)
    {
        using var normalized = Normalize(pixels);
        return ChannelsLast(normalized);
    }

    /// <summary>A (N, 3, H, W) byte or float batch with values 0..255, normalized to float32 on the batch's device.</summary>
    public static Tensor Normalize(Tensor pixels)
    {
        // (x / 255 - mean) / std as x * scale + shift, per channel, with tensors only (no implicit Scalars).
        using var scope = NewDisposeScope();
        var scale = tensor(Std.Select(s => 1f / (255f * s)).ToArray(), device: pixels.device).view(1, 3, 1, 1);
        var shift = tensor(Mean.Zip(Std, (m, s) => -m / s).ToArray(), device: pixels.device).view(1, 3, 1, 1);
        return pixels.to(ScalarType.Float32).mul(scale).add(shift).MoveToOuterDisposeScope();
    }

    /// <summary>The same values with NHWC strides.</summary>
    public static Tensor ChannelsLast(Tensor batch)
    {
        using var nhwc = batch.permute(0, 2, 3, 1);
        using var contiguous = nhwc.contiguous();
        return contiguous.permute(0, 3, 1, 2);
    }
}

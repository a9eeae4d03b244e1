using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// What the network is given in training and scoring, from planar RGB bytes: a (N, 3, S, S) batch, normalized
/// ((x / 255 - mean) / std per channel, the model's <see cref="PixelNormalization"/>, so that a saved model is
/// self-contained and pretrained weights see what they expect), in channels-last memory layout. The shape stays NCHW; only the
/// strides change (TorchSharp 0.107 has no memory_format argument, so the layout is made by permuting to NHWC,
/// copying, and permuting back), and libtorch's convolutions keep that layout through the network.
/// </summary>
internal static class NetworkInput
{
    /// <summary>Planar RGB images (3 x size x size bytes each), as the network's input on <paramref name="device"/>.</summary>
    public static Tensor FromImages(IReadOnlyList<byte[]> images, int size, Device device, PixelNormalization normalization)
    {
        using var pixels = Stack(images, size, device);
        return From(pixels, normalization);
    }

    /// <summary>Stacks planar RGB images (3 x size x size bytes each) into one (N, 3, size, size) byte tensor.</summary>
    public static Tensor Stack(IReadOnlyList<byte[]> images, int size, Device device)
    {
        var imageBytes = 3 * size * size;
        var batch = empty(new long[] { images.Count, 3, size, size }, ScalarType.Byte);
        var storage = batch.bytes;
        for (var i = 0; i < images.Count; i++)
            images[i].CopyTo(storage.Slice(i * imageBytes, imageBytes));
        if (device.type == DeviceType.CPU)
            return batch;
        using (batch)
            return batch.to(device);
    }

    /// <summary>A (N, 3, H, W) byte or float batch with values 0..255, normalized, in channels-last layout.</summary>
    public static Tensor From(Tensor pixels, PixelNormalization normalization)
    {
        using var normalized = Normalize(pixels, normalization);
        return ChannelsLast(normalized);
    }

    /// <summary>A (N, 3, H, W) byte or float batch with values 0..255, normalized to float32 on the batch's device.</summary>
    public static Tensor Normalize(Tensor pixels, PixelNormalization normalization)
    {
        // (x / 255 - mean) / std as x * scale + shift, per channel, with tensors and a lasting Scalar (see Network.Scalars).
        using var scope = NewDisposeScope();
        var (scaleValues, shiftValues) = ScaleAndShift(normalization);
        var scale = tensor(scaleValues, device: pixels.device).view(1, 3, 1, 1);
        var shift = tensor(shiftValues, device: pixels.device).view(1, 3, 1, 1);
        return pixels.to(ScalarType.Float32).mul(scale).add(shift, Scalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>The normalization as x * scale + shift per channel (the ONNX export writes these too).</summary>
    public static (float[] Scale, float[] Shift) ScaleAndShift(PixelNormalization normalization) =>
        (normalization.Std.Select(s => 1f / (255f * s)).ToArray(), normalization.Mean.Zip(normalization.Std, (m, s) => -m / s).ToArray());

    /// <summary>The same values with NHWC strides.</summary>
    public static Tensor ChannelsLast(Tensor batch)
    {
        using var nhwc = batch.permute(0, 2, 3, 1);
        using var contiguous = nhwc.contiguous();
        return contiguous.permute(0, 3, 1, 2);
    }
}

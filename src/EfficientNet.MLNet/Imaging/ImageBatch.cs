using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Imaging;

/// <summary>Stacks planar RGB images (3 x size x size bytes each) into one (N, 3, size, size) byte tensor.</summary>
internal static class ImageBatch
{
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
}

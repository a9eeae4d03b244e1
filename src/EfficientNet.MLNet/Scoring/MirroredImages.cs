namespace EfficientNet.MLNet.Scoring;

/// <summary>Horizontal mirror images of planar RGB bytes (3 x size x size): the second view of test-time augmentation, for any engine.</summary>
internal static class MirroredImages
{
    public static IReadOnlyList<byte[]> Of(IReadOnlyList<byte[]> images, int size) => images.Select(image =>
    {
        var mirrored = new byte[image.Length];
        for (var row = 0; row < 3 * size; row++)
        {
            var source = image.AsSpan(row * size, size);
            var target = mirrored.AsSpan(row * size, size);
            for (var x = 0; x < size; x++)
                target[x] = source[size - 1 - x];
        }
        return mirrored;
    }).ToList();
}

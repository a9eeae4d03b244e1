using SkiaSharp;

namespace EfficientNet.MLNet.Cli;

/// <summary>A quick look at each image file's header before training, so that a file that is not an image is reported by its path.</summary>
internal static class ImageCheck
{
    public static void RequireReadable(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            var length = new FileInfo(path).Length;
            if (length == 0)
                throw new CliInputException($"The image '{path}' is empty (0 bytes). Replace or remove it.");
            using var stream = File.OpenRead(path);
            using var codec = SKCodec.Create(stream);
            if (codec is null)
                throw new CliInputException($"The file '{path}' is not a PNG, JPEG, BMP, GIF or WebP image that can be decoded. Replace or remove it.");
        }
    }
}

using SkiaSharp;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// A look at image files before they are used, so that one that cannot be read is reported by its path: its header
/// (cheap, before training or scoring); a file whose header is right but whose body is damaged is found by the pipeline's decode.
/// </summary>
internal static class ImageCheck
{
    /// <summary>Stops at the first file whose header is not an image's, naming it.</summary>
    public static void RequireReadable(IEnumerable<string> paths)
    {
        foreach (var path in paths)
            if (HeaderProblem(path) is { } problem)
                throw new CliInputException($"{problem} Replace or remove it{(File.Exists(path) ? "" : " from the list")}, or pass --skip-unreadable.");
    }

    /// <summary>Why the file's header is not an image's (missing, empty, another format), or null.</summary>
    public static string? HeaderProblem(string path)
    {
        if (!File.Exists(path))
            return $"The image '{path}' does not exist.";
        if (new FileInfo(path).Length == 0)
            return $"The image '{path}' is empty (0 bytes).";
        using var stream = File.OpenRead(path);
        using var codec = SKCodec.Create(stream);
        if (codec is null)
            return $"The file '{path}' is not a PNG, JPEG, BMP, GIF or WebP image that can be decoded.";
        try
        {
            ImageLimits.Check(codec.Info.Width, codec.Info.Height);
            return null;
        }
        catch (InvalidDataException e)
        {
            return $"The image '{path}': {e.Message}";
        }
    }
}

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// A look at image files before they are used, so that one that cannot be read is reported by its path: its header and
/// whether the file reaches its end (cheap, before training or scoring); damage inside a complete file is found by the decode.
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

    /// <summary>Why the file is not an image to use (missing, empty, another format, over the pixel budget, truncated), or null.</summary>
    public static string? HeaderProblem(string path) => Read(path).Problem;

    /// <summary>The file's bytes when it is an image to use, else why not (the bytes read once, for a caller that scores them).</summary>
    public static (byte[]? Bytes, string? Problem) Read(string path)
    {
        if (!File.Exists(path))
            return (null, $"The image '{path}' does not exist.");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
            return (null, $"The image '{path}' is empty (0 bytes).");
        try
        {
            // The library's own check, as the web service's: the header within the budget, the file not cut off (ML.NET's
            // LoadImages, which the CLI's pipelines use, would fill a truncated file with grey and score it).
            ImageLimits.CheckEncoded(bytes);
            return (bytes, null);
        }
        catch (InvalidDataException e) when (e.InnerException is ImageTooLargeException)
        {
            return (null, $"The image '{path}': {e.Message}");
        }
        catch (InvalidDataException e)
        {
            return (null, $"The file '{path}': {e.Message}.");
        }
    }
}

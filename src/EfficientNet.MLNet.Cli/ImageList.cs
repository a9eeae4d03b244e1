using EfficientNet.MLNet.Datasets;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// The images a scoring command works on: image files and folders given as arguments, and the paths of a
/// <c>--list</c> file, one a line (blank lines and lines starting with # are ignored; relative paths are relative to
/// the current folder, as arguments are). Each path is full, in the given order, folders expanded in ordinal order.
/// </summary>
internal static class ImageList
{
    /// <summary>The paths; a missing file is an error naming it (and its line), or, when skipping, kept for the caller to report.</summary>
    public static List<string> Read(IEnumerable<string> arguments, string? listFile, bool skipMissing)
    {
        var paths = new List<string>();
        foreach (var argument in arguments)
        {
            if (Directory.Exists(argument))
                paths.AddRange(Directory.EnumerateFiles(argument, "*", SearchOption.AllDirectories).Where(ImageFolderDataset.IsImage)
                    .Order(StringComparer.Ordinal).Select(Path.GetFullPath));
            else if (File.Exists(argument) || skipMissing)
                paths.Add(Path.GetFullPath(argument));
            else
                throw new CliInputException($"'{argument}' is neither an image file nor a folder.");
        }
        if (listFile is null)
            return paths;
        if (!File.Exists(listFile))
            throw new CliInputException($"The list file '{listFile}' does not exist. Give a text file with one image path a line.");
        var number = 0;
        foreach (var line in File.ReadLines(listFile))
        {
            number++;
            var path = line.Trim();
            if (path.Length == 0 || path.StartsWith('#'))
                continue;
            if (!File.Exists(path) && !skipMissing)
                throw new CliInputException($"The image '{path}' (line {number} of {listFile}) does not exist. Fix or remove the line, or pass --skip-unreadable.");
            paths.Add(Path.GetFullPath(path));
        }
        return paths;
    }
}

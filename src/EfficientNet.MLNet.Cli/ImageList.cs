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
        paths.AddRange(Entries(listFile, "one image path a line").Select(entry => ListedPath(entry.Text, entry.Line, listFile, skipMissing)));
        return paths;
    }

    /// <summary>
    /// The entries of a list file: its lines, trimmed, with their numbers (from 1), but for blank lines and comments (#).
    /// </summary>
    /// <param name="listFile">The file.</param>
    /// <param name="format">What a line holds, for the error when the file is missing.</param>
    public static IEnumerable<(string Text, int Line)> Entries(string listFile, string format)
    {
        if (!File.Exists(listFile))
            throw new CliInputException($"The list file '{listFile}' does not exist. Give a text file with {format}.");
        return Read();

        IEnumerable<(string, int)> Read()
        {
            var number = 0;
            foreach (var line in File.ReadLines(listFile))
            {
                number++;
                var text = line.Trim();
                if (text.Length > 0 && !text.StartsWith('#'))
                    yield return (text, number);
            }
        }
    }

    /// <summary>A listed image's full path; a missing file is an error naming the list's line, unless skipping.</summary>
    public static string ListedPath(string path, int line, string listFile, bool skipMissing) =>
        File.Exists(path) || skipMissing ? Path.GetFullPath(path)
            : throw new CliInputException($"The image '{path}' (line {line} of {listFile}) does not exist. Fix or remove the line, or pass --skip-unreadable.");
}

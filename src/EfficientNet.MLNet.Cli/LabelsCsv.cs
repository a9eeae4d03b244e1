using EfficientNet.MLNet.Datasets;
using Microsoft.VisualBasic.FileIO;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// Multi-label data as a CSV: a header row naming the columns, then one row per image with its path (absolute, or
/// relative to the CSV's folder) and its labels separated by the label separator ("dog;person"; empty for none).
/// Read with .NET's own CSV parser (quoted fields, commas inside quotes). Each image becomes a
/// <see cref="LabeledImage"/> whose Label holds the row's label text, as the multi-label trainer reads it.
/// </summary>
internal sealed record LabelsCsv(string Path, IReadOnlyList<LabeledImage> Images, IReadOnlyList<string> Labels)
{
    public static LabelsCsv Read(string path, string imageColumn, string labelsColumn, char separator, bool skipMissing)
    {
        if (!File.Exists(path))
            throw new CliInputException($"The labels CSV '{path}' does not exist. Give a CSV with a header row and the columns {imageColumn} (image paths) and {labelsColumn} (labels separated by '{separator}').");
        using var parser = new TextFieldParser(path) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = true };
        parser.SetDelimiters(",");
        var header = parser.ReadFields() ?? throw new CliInputException($"The labels CSV '{path}' is empty. Its first row names the columns, e.g. '{imageColumn},{labelsColumn}'.");
        int Column(string name, string option) => Array.IndexOf(header, name) is >= 0 and var index ? index
            : throw new CliInputException($"The labels CSV '{path}' has no column '{name}' (its columns: {string.Join(", ", header)}). Name the column with {option}.");
        var (image, labels) = (Column(imageColumn, "--image-column"), Column(labelsColumn, "--labels-column"));
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var images = new List<LabeledImage>();
        while (!parser.EndOfData)
        {
            string[]? fields;
            try
            {
                fields = parser.ReadFields();
            }
            catch (MalformedLineException e)
            {
                throw new CliInputException($"Line {e.LineNumber} of {path} is not valid CSV ({e.Message}). Quote fields that hold commas or quotes.");
            }
            var line = parser.LineNumber < 0 ? images.Count + 2 : parser.LineNumber - 1;
            if (fields is null || fields.All(f => f.Length == 0))
                continue;
            if (fields.Length <= Math.Max(image, labels))
                throw new CliInputException($"Line {line} of {path} has {fields.Length} fields; the header has {header.Length}. Give every row an image path and its labels (empty for none).");
            var file = fields[image].Length == 0
                ? throw new CliInputException($"Line {line} of {path} has no image path in the column '{imageColumn}'.")
                : System.IO.Path.GetFullPath(fields[image], folder);
            if (!File.Exists(file) && !skipMissing)
                throw new CliInputException($"Line {line} of {path}: the image '{file}' does not exist. Fix the path (relative paths start at the CSV's folder), or pass --skip-unreadable.");
            var text = string.Join(separator, fields[labels].Split(separator).Select(l => l.Trim()).Where(l => l.Length > 0));
            images.Add(new LabeledImage(file, text));
        }
        var names = images.SelectMany(i => i.Label.Split(separator, StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal).ToList();
        return new LabelsCsv(path, images, names);
    }
}

using System.CommandLine;

namespace EfficientNet.MLNet.Cli;

/// <summary>The options that name a multi-label CSV (<see cref="LabelsCsv"/>), shared by train and evaluate.</summary>
internal sealed class MultiLabelCsvOptions
{
    public Option<string?> Csv { get; } = new("--labels-csv") { Description = "Multi-label data: a CSV with a header row, a column of image paths (relative to the CSV's folder) and a column of labels separated by --separator (\"dog;person\", empty for none)" };
    public Option<string> ImageColumn { get; } = new("--image-column") { Description = "With --labels-csv: the column of image paths", DefaultValueFactory = _ => "ImagePath" };
    public Option<string> LabelsColumn { get; } = new("--labels-column") { Description = "With --labels-csv: the column of labels", DefaultValueFactory = _ => "Labels" };
    public Option<string?> SeparatorOption { get; } = new("--separator") { Description = "With --labels-csv: what separates a row's labels (default ';', or the model's)" };

    public IEnumerable<Option> Options => new Option[] { Csv, ImageColumn, LabelsColumn, SeparatorOption };

    /// <summary>The separator given, else <paramref name="fallback"/>; one character.</summary>
    public char Separator(ParseResult parse, char fallback = ';') => parse.GetValue(SeparatorOption) switch
    {
        null => fallback,
        "\\t" or "tab" => '\t',
        { Length: 1 } one when one != "," => one[0],
        var other => throw new CliInputException($"--separator must be one character other than the CSV's comma (e.g. ';' or '|'); got '{other}'."),
    };

    /// <summary>The CSV, or null without --labels-csv (refusing its column options then).</summary>
    public LabelsCsv? Read(ParseResult parse, bool forTraining, char fallbackSeparator = ';', bool skipMissing = false)
    {
        if (parse.GetValue(Csv) is not { } path)
        {
            foreach (var option in new Option[] { ImageColumn, LabelsColumn, SeparatorOption })
                if (parse.GetResult(option) is { Implicit: false })
                    throw new CliInputException($"{option.Name} works with --labels-csv.");
            return null;
        }
        var csv = LabelsCsv.Read(path, parse.GetValue(ImageColumn)!, parse.GetValue(LabelsColumn)!, Separator(parse, fallbackSeparator), skipMissing);
        if (csv.Images.Count == 0)
            throw new CliInputException($"The labels CSV '{path}' has no rows after its header.");
        if (forTraining && csv.Labels.Count < 2)
            throw new CliInputException($"The labels CSV '{path}' has {csv.Labels.Count} distinct label(s) ({string.Join(", ", csv.Labels)}); a multi-label model needs at least 2.");
        return csv;
    }
}

using System.Text.Json;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// The <c>--output results.jsonl</c> of the scoring commands: one JSON object a line, each line flushed when its
/// batch is scored, so a watcher or a merge sees whole lines and an interrupted run keeps what it had scored.
/// </summary>
internal sealed class JsonLinesFile : IDisposable
{
    private readonly StreamWriter writer;

    public JsonLinesFile(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        try
        {
            writer = new StreamWriter(full, append: false) { NewLine = "\n" };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"The output file '{path}' cannot be written ({e.Message}).");
        }
        Path = full;
    }

    /// <summary>camelCase names, as the commands' JSON has.</summary>
    public static JsonSerializerOptions Options { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string Path { get; }

    public void Write(object line) => writer.WriteLine(JsonSerializer.Serialize(line, line.GetType(), Options));

    public void Flush() => writer.Flush();

    public void Dispose() => writer.Dispose();
}

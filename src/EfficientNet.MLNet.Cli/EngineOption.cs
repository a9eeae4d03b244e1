using System.CommandLine;

namespace EfficientNet.MLNet.Cli;

/// <summary>The <c>--engine</c> option of the scoring commands: what scores the images (see <see cref="ScoringEngine"/>).</summary>
internal static class EngineOption
{
    public static Option<string> Create() => new("--engine")
    {
        Description = "What scores: auto (ONNX Runtime, else TorchSharp), onnx, or torchsharp",
        DefaultValueFactory = _ => "auto",
    };

    public static ScoringEngine Parse(string? value) => (value ?? "auto").Trim().ToLowerInvariant() switch
    {
        "auto" => ScoringEngine.Auto,
        "onnx" or "onnxruntime" => ScoringEngine.OnnxRuntime,
        "torchsharp" => ScoringEngine.TorchSharp,
        _ => throw new CliInputException($"--engine must be auto, onnx or torchsharp; got '{value}'."),
    };
}

using System.CommandLine;

namespace EfficientNet.MLNet.Cli;

/// <summary>The <c>--tta</c> option of evaluate and predict: test-time augmentation (see <see cref="TestTimeAugmentation"/>).</summary>
internal static class TestTimeAugmentationOption
{
    public static Option<string> Create() => new("--tta")
    {
        Description = "Test-time augmentation: none, or flip (average each image with its mirror image; two passes)",
        DefaultValueFactory = _ => "none",
    };

    public static TestTimeAugmentation Parse(string? value) => (value ?? "none").Trim().ToLowerInvariant() switch
    {
        "none" => TestTimeAugmentation.None,
        "flip" or "horizontalflip" => TestTimeAugmentation.HorizontalFlip,
        _ => throw new CliInputException($"--tta must be none or flip; got '{value}'."),
    };
}

using System.CommandLine;

namespace EfficientNet.MLNet.Cli;

/// <summary>The <c>--tta</c> option of evaluate and predict: test-time augmentation (see <see cref="TestTimeAugmentation"/>).</summary>
internal static class TestTimeAugmentationOption
{
    public static Option<string> Create() => new("--tta")
    {
        Description = "Test-time augmentation: none; flip (average each image with its mirror image: two passes); crops (the image, four corners and the centre, each also mirrored: twelve passes); or fivecrops (the same without mirrors, for images whose mirror image is another thing: six passes)",
        DefaultValueFactory = _ => "none",
    };

    public static TestTimeAugmentation Parse(string? value) => (value ?? "none").Trim().ToLowerInvariant() switch
    {
        "none" => TestTimeAugmentation.None,
        "flip" or "horizontalflip" => TestTimeAugmentation.HorizontalFlip,
        "crops" or "flipandfivecrops" => TestTimeAugmentation.FlipAndFiveCrops,
        "fivecrops" or "five-crops" => TestTimeAugmentation.FiveCrops,
        _ => throw new CliInputException($"--tta must be none, flip, crops or fivecrops; got '{value}'."),
    };
}

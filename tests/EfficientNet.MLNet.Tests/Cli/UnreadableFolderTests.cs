using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>Unix permissions: a folder the user cannot read (the child runs as 'nobody' when the tests run as root).</summary>
[Collection(TrainingCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class UnreadableFolderTests
{
    [Fact]
    public void A_class_folder_without_read_permission_is_named_with_what_to_do()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        File.SetUnixFileMode(folder.Path, (UnixFileMode)0b111_101_101); // the child may run as another user
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 2, size: 32, seed: 3);
        var locked = Path.Combine(data, "square");
        File.SetUnixFileMode(locked, UnixFileMode.None);
        try
        {
            var (exit, output) = CliProcess.Run(new[] { "train", "--data", data, "--epochs", "1" }, unprivileged: true);

            Assert.True(exit == 2, output);
            Assert.Contains($"The folder '{locked}' (or a folder inside it) cannot be read: permission denied", output);
            Assert.Contains("chmod -R u+rX", output);
            Assert.DoesNotContain("   at ", output); // a message, not a stack trace
        }
        finally
        {
            File.SetUnixFileMode(locked, (UnixFileMode)0b111_101_101);
        }
    }
}

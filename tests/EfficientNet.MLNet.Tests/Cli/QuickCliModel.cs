using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>Shapes drawn into a folder and a model trained on them by the CLI in one epoch at 32 px: enough to score with.</summary>
internal static class QuickCliModel
{
    /// <summary>Writes folder/data, trains folder/model.zip; returns the images and the model's path.</summary>
    public static (IReadOnlyList<LabeledImage> Images, string Model) Train(FixturePaths.TemporaryFolder folder, int imagesPerClass, int seed)
    {
        var images = SyntheticShapes.Write(folder.File("data"), imagesPerClass, size: 32, seed);
        var model = folder.File("model.zip");
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(new[] { "train", "--data", folder.File("data"), "--epochs", "1", "--resolution", "32", "--validation-fraction", "0", "--output", model },
            TextWriter.Null, error);
        Assert.True(exit == 0, error.ToString());
        return (images, model);
    }
}

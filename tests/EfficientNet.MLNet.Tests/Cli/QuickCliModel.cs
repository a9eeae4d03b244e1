using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>
/// Shapes drawn into a folder, and a model the CLI trained on shapes at 32 px whose probabilities depend on the image.
/// An EfficientNet trained for a step or two gives every image the same probabilities in evaluation mode (batch
/// normalization's running statistics have not caught up; torchvision's freshly made efficientnet_b0 does the same), and
/// a test that checks that each image got its own answer, or that two doors agree, could not fail on it. So one model is
/// trained once per test run (8 shapes a class, 30 epochs of batch 8: about 12 s), checked to tell images apart, and
/// copied to every test that asks.
/// </summary>
internal static class QuickCliModel
{
    static readonly Lazy<string> Shared = new(TrainShared, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Writes folder/data (shapes of the four classes), copies the trained model to folder/model.zip; returns the images and the model's path.</summary>
    public static (IReadOnlyList<LabeledImage> Images, string Model) Train(FixturePaths.TemporaryFolder folder, int imagesPerClass, int seed)
    {
        var images = SyntheticShapes.Write(folder.File("data"), imagesPerClass, size: 32, seed);
        var model = folder.File("model.zip");
        File.Copy(Shared.Value, model);
        return (images, model);
    }

    static string TrainShared()
    {
        var folder = Directory.CreateTempSubdirectory("efficientnet-tests-quick-model-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } };
        var data = Path.Combine(folder, "data");
        var images = SyntheticShapes.Write(data, imagesPerClass: 8, size: 32, seed: 1);
        var model = Path.Combine(folder, "model.zip");
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(["train", "--data", data, "--epochs", "30", "--batch-size", "8", "--resolution", "32", "--validation-fraction", "0", "--output", model],
            TextWriter.Null, error);
        Assert.True(exit == 0, error.ToString());
        AssertItTellsImagesApart(model, images);
        return model;
    }

    static void AssertItTellsImagesApart(string model, IReadOnlyList<LabeledImage> images)
    {
        var ml = new MLContext();
        var scores = ml.Model.Load(model, out _).Transform(ml.Data.LoadFromEnumerable(images)).GetColumn<float[]>("Score").ToArray();
        var spread = Enumerable.Range(0, scores[0].Length).Max(c => scores.Max(s => s[c]) - scores.Min(s => s[c]));
        var distinct = scores.Select(s => string.Join(",", s)).Distinct().Count();
        Assert.True(spread > 0.05f && distinct == scores.Length, $"the quick model's probabilities vary by only {spread} over its images ({distinct} of {scores.Length} distinct)");
    }
}

using System.Diagnostics;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Tests.Network;

namespace EfficientNet.MLNet.Tests.Imaging;

/// <summary>
/// The preprocessing of pretrained weights, compared pixel by pixel with torchvision's own transforms (Resize on the
/// shorter side, CenterCrop) on a real photograph: scikit-learn's china.jpg (427 x 640), from Debian's python3-sklearn.
/// </summary>
public class TorchvisionPreprocessingTests
{
    const string Photo = "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg";

    [Theory]
    [InlineData(256, 224, "bicubic")] // b0's IMAGENET1K_V1 weights
    [InlineData(320, 300, "bicubic")] // b3's
    [InlineData(255, 240, "bilinear")] // b1's IMAGENET1K_V2
    [InlineData(384, 384, "bilinear")] // v2_s's
    public void Resize_and_centre_crop_give_exactly_torchvisions_pixels_on_a_real_photograph(int resize, int crop, string interpolation)
    {
        Assert.SkipUnless(TorchvisionEquivalenceTests.TorchvisionIsInstalled() && File.Exists(Photo),
            "needs Debian's python3-torchvision and python3-sklearn (for a real photograph); .ci/run installs both");
        using var folder = new FixturePaths.TemporaryFolder();
        var reference = folder.File("torchvision.bin");
        RunPython(FixturePaths.Of("torchvision_preprocess.py"), Photo, resize.ToString(), crop.ToString(), interpolation, reference);
        var expected = File.ReadAllBytes(reference);

        var actual = RgbImage.FromEncodedCentreCrop(File.ReadAllBytes(Photo), resize, crop,
            interpolation == "bicubic" ? ResizeInterpolation.Bicubic : ResizeInterpolation.Bilinear);

        Assert.Equal(3 * crop * crop, actual.Length);
        var differing = expected.Zip(actual).Count(p => p.First != p.Second);
        var largest = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(differing == 0, $"{differing} of {expected.Length} values differ from torchvision's, by up to {largest} levels");
    }

    [Fact]
    public void The_variants_sizes_are_torchvisions()
    {
        Assert.Equal((256, 224), PretrainedClassifier.TorchvisionPreprocessing("b0"));
        Assert.Equal((320, 300), PretrainedClassifier.TorchvisionPreprocessing("b3"));
    }

    static void RunPython(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{script} failed: {errors}");
    }
}

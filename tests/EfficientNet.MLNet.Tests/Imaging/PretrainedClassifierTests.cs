using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;
using SkiaSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Imaging;

public class PretrainedClassifierTests
{
    // A landscape picture: green in the square torchvision's crop keeps, red around it.
    static byte[] FramedPicture(int width = 400, int height = 300)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Red);
            // b0: shorter side 300 -> 256, centre 224 of it = the centre 262.5 px of the original; green a little wider.
            var side = 270f;
            using var paint = new SKPaint { Color = new SKColor(0, 200, 0) };
            canvas.DrawRect((width - side) / 2, (height - side) / 2, side, side, paint);
        }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    [Fact]
    public void Versions_are_read_like_everywhere_else_whatever_their_case_and_spaces()
    {
        Assert.Equal((320, 300), PretrainedClassifier.TorchvisionPreprocessing(" B3 "));
        Assert.Equal((256, 224), PretrainedClassifier.TorchvisionPreprocessing("efficientnet_b0"));
        Assert.Equal((384, 384), PretrainedClassifier.TorchvisionPreprocessing("v2_s"));
        Assert.Equal((480, 480), PretrainedClassifier.TorchvisionPreprocessing("EfficientNet_V2_L"));
    }

    [Fact]
    public void Preprocessing_resizes_the_shorter_side_and_keeps_the_centre_like_torchvision()
    {
        var (resize, crop) = PretrainedClassifier.TorchvisionPreprocessing("b0");

        var planar = RgbImage.FromEncodedCentreCrop(FramedPicture(), resize, crop);

        Assert.Equal((256, 224), (resize, crop));
        Assert.Equal(3 * 224 * 224, planar.Length);
        var plane = 224 * 224;
        foreach (var (x, y) in new[] { (1, 1), (222, 1), (1, 222), (222, 222), (112, 112) })
        {
            var i = y * 224 + x;
            Assert.True(planar[i] < 40 && planar[plane + i] > 160, $"pixel ({x}, {y}) is ({planar[i]}, {planar[plane + i]}, {planar[2 * plane + i]}), not green: the red frame was not cropped away");
        }
    }

    // Random pixels: a picture every part of which counts (the framed picture's crop is all green).
    static byte[] NoisyPicture(int width, int height, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)(x * 255 / width), (byte)(y * 255 / height)));
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    [Fact]
    public void Classify_gives_the_networks_probabilities_for_the_preprocessed_image()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(4);
        // Batch norms calibrated: a fresh network would give every picture the same probabilities (CalibratedNetwork).
        using var model = CalibratedNetwork.Calibrate(EfficientNetModel.Create("b0"), 224);
        var path = folder.File("b0.safetensors");
        model.SaveSafetensors(path);
        var pictures = new[] { FramedPicture(), NoisyPicture(400, 300, 1), NoisyPicture(240, 320, 2) };

        using var classifier = PretrainedClassifier.Load(path, "b0");
        var probabilities = classifier.Classify(pictures);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        float[] Expected(byte[] planar) => model.call(NetworkInput.Normalize(tensor(planar).view(1, 3, 224, 224), PixelNormalization.ImageNet)).softmax(1).data<float>().ToArray();
        Assert.Equal(1000, classifier.Labels.Count);
        Assert.Equal("class 999", classifier.Labels[999]);
        for (var i = 0; i < pictures.Length; i++)
            Assert.Equal(Expected(RgbImage.FromEncodedCentreCrop(pictures[i], 256, 224)), probabilities[i], new ToleranceComparer(1e-5f));
        // The premise: the pictures get probabilities of their own, and stretching instead of cropping would have been seen.
        CalibratedNetwork.AssertInputDependent(probabilities, 1e-4f);
        var stretched = Expected(RgbImage.FromEncoded(pictures[0], 224)); // the red frame kept
        var apart = stretched.Zip(probabilities[0], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(apart > 1e-4f, $"stretching and cropping the framed picture give probabilities only {apart} apart: the test could not tell them apart");
    }

    [Fact]
    public void A_torch_save_file_classifies_like_the_same_weights_in_safetensors()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(6);
        using (var model = CalibratedNetwork.Calibrate(EfficientNetModel.Create("b0", numClasses: 7), 224))
        {
            model.SaveSafetensors(folder.File("b0.safetensors"));
            TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(model, folder.File("b0.pth"));
        }
        var pictures = new[] { NoisyPicture(400, 300, 3), NoisyPicture(300, 300, 4) };

        using var fromSafetensors = PretrainedClassifier.Load(folder.File("b0.safetensors"), "b0");
        using var fromPyTorch = PretrainedClassifier.Load(folder.File("b0.pth"), "b0");

        Assert.Equal(7, fromPyTorch.Labels.Count);
        var expected = fromSafetensors.Classify(pictures);
        CalibratedNetwork.AssertInputDependent(expected, 1e-4f); // a load that read no weights would not give these
        Assert.Equal(expected, fromPyTorch.Classify(pictures));
    }

    [Fact]
    public void Predict_with_weights_prints_labelled_probabilities_and_all_classes_with_top_0()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(4);
        using (var model = EfficientNetModel.Create("b0", numClasses: 5))
            model.SaveSafetensors(folder.File("five.safetensors"));
        File.WriteAllLines(folder.File("labels.txt"), new[] { "tench", "goldfish", "great white shark", "tiger shark", "hammerhead" });
        File.WriteAllLines(folder.File("three.txt"), new[] { "cat", "dog", "bird" });
        File.WriteAllBytes(folder.File("picture.png"), FramedPicture());
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = EfficientNetCli.Run(new[] { "predict", "--weights", folder.File("five.safetensors"), "--version", "b0", "--labels", folder.File("labels.txt"), folder.File("picture.png"), "--top", "0", "--json" }, output, error);
        var wrongLabels = EfficientNetCli.Run(new[] { "predict", "--weights", folder.File("five.safetensors"), "--version", "b0", "--labels", folder.File("three.txt"), folder.File("picture.png") }, new StringWriter(), error);

        Assert.True(exit == 0, error.ToString());
        var top = JsonDocument.Parse(output.ToString()).RootElement[0].GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(5, top.Count);
        Assert.Equal(new[] { "goldfish", "great white shark", "hammerhead", "tench", "tiger shark" }, top.Select(t => t.GetProperty("label").GetString()).Order());
        Assert.All(top, t => Assert.Equal(t.GetProperty("label").GetString(), new[] { "tench", "goldfish", "great white shark", "tiger shark", "hammerhead" }[t.GetProperty("index").GetInt32()]));
        Assert.Equal(1.0, top.Sum(t => t.GetProperty("probability").GetDouble()), 4);
        Assert.Equal(2, wrongLabels);
        Assert.Contains("3 labels were given, but the weights in", error.ToString());
    }

    [Fact]
    public void Predict_with_weights_names_or_skips_truncated_damaged_and_foreign_files_and_scores_the_rest()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(5);
        using (var model = EfficientNetModel.Create("b0", numClasses: 3))
            model.SaveSafetensors(folder.File("three.safetensors"));
        var picture = FramedPicture();
        var images = Directory.CreateDirectory(folder.File("images")).FullName;
        File.WriteAllBytes(Path.Combine(images, "a-good.png"), picture);
        File.WriteAllBytes(Path.Combine(images, "b-truncated.png"), HostileImages.Truncated(picture)); // header intact
        var damaged = picture.ToArray();
        damaged.AsSpan(damaged.AsSpan().IndexOf("IDAT"u8) + 4, 64).Fill(0xFF); // a complete file, its compressed pixels corrupt
        File.WriteAllBytes(Path.Combine(images, "c-damaged.png"), damaged);
        File.WriteAllText(Path.Combine(images, "d-text.png"), "not an image");
        File.WriteAllBytes(Path.Combine(images, "e-good.png"), FramedPicture(200, 300));
        string[] Arguments(params string[] more) => ["predict", "--weights", folder.File("three.safetensors"), "--version", "b0", images, .. more];

        var output = new StringWriter();
        var skipping = EfficientNetCli.Run(Arguments("--skip-unreadable", "--json"), output, new StringWriter());
        var error = new StringWriter();
        var stopping = EfficientNetCli.Run(Arguments(), new StringWriter(), error);
        var text = new StringWriter();
        var skippingText = EfficientNetCli.Run(Arguments("--skip-unreadable"), text, new StringWriter());

        Assert.Equal(0, skipping);
        var lines = JsonDocument.Parse(output.ToString()).RootElement.EnumerateArray().ToList();
        Assert.Equal(new[] { "a-good.png", "b-truncated.png", "c-damaged.png", "d-text.png", "e-good.png" }.Select(f => Path.Combine(images, f)),
            lines.Select(l => l.GetProperty("image").GetString()).Order());
        string Error(string file) => lines.Single(l => l.GetProperty("image").GetString()!.EndsWith(file, StringComparison.Ordinal)).GetProperty("error").GetString()!;
        Assert.Contains("truncated or damaged", Error("b-truncated.png"));
        Assert.Contains("c-damaged.png", Error("c-damaged.png"));
        Assert.Contains("are not a PNG", Error("d-text.png"));
        Assert.Equal(2, lines.Count(l => l.TryGetProperty("top", out _)));
        Assert.Equal(2, stopping); // a clear error naming the file, not a stack trace
        Assert.Contains($"'{Path.Combine(images, "b-truncated.png")}'", error.ToString());
        Assert.Contains("--skip-unreadable", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
        Assert.Equal(0, skippingText);
        Assert.Equal(3, text.ToString().Split('\n').Count(l => l.StartsWith("skipped: ", StringComparison.Ordinal)));
    }
}

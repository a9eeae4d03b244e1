using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// examples/ScaleOut/train_ddp.py: torchvision's EfficientNet-b0 trained by torchrun with 2 processes (Gloo, CPU), then
/// taken over here: its checkpoints load (plain, EMA, DDP-wrapped), score as PyTorch scored, fine-tune, export to ONNX.
/// </summary>
[Collection(TrainingCollection.Name)]
public class DistributedTrainingTests(ShapesFixture shapes)
{
    const int Size = 64;

    static (int Exit, string Output) Torchrun(string data, string output, params string[] more)
    {
        // Debian 12's torch 1.13 under Python 3.11 cannot parse torchrun's default "--redirects 0 --tee 0" (IntFlag
        // iteration skips 0): any non-zero stream choice with a log folder works around it.
        var start = new ProcessStartInfo("/usr/bin/torchrun") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--redirects", "2", "--tee", "2", "--log_dir", Path.Combine(output + ".logs"), "--nproc_per_node=2",
                     Path.Combine(FixturePaths.Metadata("RepositoryRoot"), "examples", "ScaleOut", "train_ddp.py"), "--data", data, "--output", output,
                     "--size", Size.ToString(), "--epochs", "2" }.Concat(more))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        // Both streams read in the background: a job that hangs must end in the timeout, not in a read that never returns.
        var error = process.StandardError.ReadToEndAsync();
        var printed = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("torchrun ran over 5 minutes: " + printed.Result + error.Result);
        }
        return (process.ExitCode, printed.Result + error.Result);
    }

    static void SkipWithoutTorchrun() =>
        Assert.SkipUnless(File.Exists("/usr/bin/torchrun") && TorchvisionEquivalenceTests.TorchvisionIsInstalled(),
            "needs Debian's python3-torch and python3-torchvision (torchrun, Gloo); .ci/run installs them");

    [Fact]
    public void A_torchrun_trained_checkpoint_scores_here_as_in_pytorch_then_fine_tunes_and_exports()
    {
        SkipWithoutTorchrun();
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        var images = SyntheticShapes.Write(data, imagesPerClass: 12, size: Size, seed: 31);
        // PNGs only for the comparison: both sides decode them to the same pixels (JPEG decoders differ by a level here and there).
        // Two of each of three classes.
        var scored = images.Where(i => i.ImagePath.EndsWith(".png", StringComparison.Ordinal)).GroupBy(i => i.Label).SelectMany(g => g.Take(2)).Take(6).Select(i => i.ImagePath).ToList();
        File.WriteAllLines(folder.File("score.txt"), scored);
        var output = folder.File("out");
        // torchrun starts from the shapes fixture's trained weights (--weights): six steps from random weights leave a
        // network that gives every image the same probabilities, and the comparisons below could not fail.
        var start = folder.File("start.pth");
        TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(shapes.Classifier.Model, start);
        File.WriteAllLines(folder.File("classes.txt"), shapes.Classifier.ClassNames); // its rows' names, in its label order

        var run = Torchrun(data, output, "--score", folder.File("score.txt"), "--weights", start);

        Assert.True(run.Exit == 0, run.Output);
        Assert.Contains($"--weights: classifier rows matched to the data's classes by name ({string.Join(", ", shapes.Classifier.ClassNames)} -> ", run.Output);
        Assert.Contains("epoch 0: the 2 ranks hold identical weights", run.Output);
        Assert.Contains("epoch 1: the 2 ranks hold identical weights", run.Output);
        var pytorch = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "scores.json"))).RootElement;
        var classes = File.ReadAllLines(Path.Combine(output, "classes.txt")).Where(l => l.Length > 0).ToList();
        var checkpoint = Path.Combine(output, "checkpoint.pth");

        // The weights, the moving average and the DDP-wrapped copy load into the network here, and score as PyTorch did.
        using var scope = NewDisposeScope();
        var input = NetworkInput.FromImages(scored.Select(p => RgbImage.FromEncoded(File.ReadAllBytes(p), Size)).ToList(), Size, CPU, PixelNormalization.ImageNet);
        foreach (var (key, file, average) in new[] { ("model", checkpoint, false), ("model_ema", checkpoint, true), ("model", Path.Combine(output, "checkpoint_ddp.pth"), false) })
        {
            using var model = new EfficientNetModel(EfficientNetVariants.B0, classes.Count);
            model.LoadWeights(file, WeightLoadMode.Strict, movingAverage: average);
            model.eval();
            Tensor probabilities;
            using (no_grad())
                probabilities = model.call(input).softmax(1);
            var expected = pytorch.GetProperty(key).EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            CalibratedNetwork.AssertInputDependent(expected, 0.05f);
            for (var i = 0; i < scored.Count; i++)
                Assert.Equal(expected[i], probabilities[i].data<float>().ToArray(), new ToleranceComparer(1e-4f));
        }

        // Fine-tuned here for one epoch from the checkpoint (its classifier fits: same classes), exported, scored by ONNX Runtime.
        var ml = new MLContext(seed: 1);
        var said = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("classifier", StringComparison.Ordinal)) lock (said) said.Add(e.Message); };
        var rows = ml.Data.LoadFromEnumerable(images);
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(rows);
        using var tuned = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options
        {
            PretrainedWeights = checkpoint, ImageSize = Size, Epochs = 1, BatchSize = 8, LearningRate = 1e-4, Augment = false, Seed = 1,
        }).Fit(prepare.Transform(rows));
        var onnx = folder.File("tuned.onnx");
        tuned.ExportOnnx(onnx);
        tuned.ScoringEngine = ScoringEngine.TorchSharp;
        var here = tuned.Transform(prepare.Transform(ml.Data.LoadFromEnumerable(scored.Select(p => new LabeledImage(p, "circle"))))).GetColumn<float[]>("Score").ToList();
        using var session = new InferenceSession(onnx);
        var pixels = scored.SelectMany(p => RgbImage.FromEncoded(File.ReadAllBytes(p), Size).Select(b => (float)b)).ToArray();
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("image", new DenseTensor(pixels, new[] { scored.Count, 3, Size, Size })) });
        var fromOnnx = results.First(r => r.Name == "probabilities").AsTensor<float>().ToArray();

        Assert.Single(tuned.History);
        // ImageFolder sorted the classes (classes.txt beside the checkpoint); MapValueToKey numbers them in order of
        // first appearance: the checkpoint's rows were matched to the data's classes by name, or said to be in order.
        Assert.Equal(classes.Order(StringComparer.Ordinal), tuned.ClassNames.Order(StringComparer.Ordinal));
        Assert.Contains(said, m => m.Contains(classes.SequenceEqual(tuned.ClassNames) ? "has the data's classes in the data's order" : "were matched to the data's classes by name", StringComparison.Ordinal));
        CalibratedNetwork.AssertInputDependent(here, 0.05f);
        for (var i = 0; i < scored.Count; i++)
            Assert.Equal(here[i], fromOnnx.AsSpan(i * classes.Count, classes.Count).ToArray(), new ToleranceComparer(1e-4f));
    }

    [Fact]
    public void A_rank_that_dies_fails_the_job_and_leaves_no_checkpoint()
    {
        SkipWithoutTorchrun();
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 8, size: Size, seed: 32);
        var output = folder.File("out");

        var run = Torchrun(data, output, "--fail-rank", "1", "--fail-epoch", "1");

        Assert.NotEqual(0, run.Exit);
        Assert.Contains("rank 1: dying in epoch 1", run.Output);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output).Any(), "a failed job wrote " + string.Join(", ", Directory.Exists(output) ? Directory.GetFiles(output) : Array.Empty<string>()));
    }
}

using System.IO.Compression;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Onnx;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>EfficientNetV2 through everything b0 goes through: the trainer, checkpoints and resume, the zip, both engines, ONNX.</summary>
[Collection(TrainingCollection.Name)]
public class EfficientNetV2PipelineTests(ShapesFixture shapes)
{
    IDataView Train => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 32));
    IDataView Test => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TestSet, 8));

    [Fact]
    public void V2_s_trains_resumes_from_a_checkpoint_saves_reloads_and_exports_with_the_same_scores()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var options = ShapesFixture.Options(epochs: 2) with { Version = "V2-S", ImageSize = 32, BatchSize = 8, CheckpointDirectory = folder.File("checkpoints") };
        var trainers = shapes.MLContext.MulticlassClassification.Trainers;
        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => trainers.EfficientNet(options with
        {
            CancellationToken = cancellation.Token, EpochCompleted = m => { if (m.Epoch == 1) cancellation.Cancel(); },
        }).Fit(Train));
        var resumedEpochs = new List<int>();

        using var classifier = trainers.EfficientNet(options with { ResumeFromCheckpoint = true, EpochCompleted = m => resumedEpochs.Add(m.Epoch) }).Fit(Train);

        Assert.Equal(new[] { 2 }, resumedEpochs);
        Assert.Equal("v2_s", classifier.Version);
        // torchvision's 21,458,488 with 1000 classes, less the 996 classes' 1280 weights and bias each.
        Assert.Equal(21_458_488 - 996 * 1281, classifier.Model.parameters().Sum(p => p.numel()));
        // Eight steps leave the batch norms' running statistics near their start, where every image gets the same
        // probabilities: calibrated, the comparisons below can see a wrong image or a wrong weight (CalibratedNetwork).
        CalibratedNetwork.Calibrate(classifier.Model, 32);
        classifier.ScoringEngine = ScoringEngine.TorchSharp;
        var expected = classifier.Transform(Test).GetColumn<float[]>("Score").ToList();
        Assert.All(expected, scores => Assert.Equal(1f, scores.Sum(), 1e-4f));
        CalibratedNetwork.AssertInputDependent(expected, 1e-3f);

        var zip = folder.File("v2.zip");
        shapes.MLContext.Model.Save(classifier, Train.Schema, zip);
        using var reloaded = (EfficientNetTransformer)new MLContext(seed: 2).Model.Load(zip, out _);
        reloaded.ScoringEngine = ScoringEngine.OnnxRuntime;
        var actual = reloaded.Transform(Test).GetColumn<float[]>("Score").ToList();

        Assert.Equal("v2_s", reloaded.Version);
        Assert.Equal(3, SavedFormat(zip, "v2_s"));
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(1e-4f));

        var onnx = folder.File("v2.onnx");
        classifier.ExportOnnx(onnx);
        using var session = new InferenceSession(onnx);
        var random = new Random(5);
        var images = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 3 * 32 * 32).Select(_ => (byte)random.Next(256)).ToArray()).ToList();
        var ours = classifier.Score(images);
        CalibratedNetwork.AssertInputDependent(ours, 1e-3f);
        var input = new DenseTensor<float>(images.SelectMany(i => i.Select(b => (float)b)).ToArray(), new[] { 3, 3, 32, 32 });
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, input) });
        var probabilities = results.Single(r => r.Name == OnnxExport.ProbabilitiesName).AsTensor<float>().ToArray();
        for (var i = 0; i < images.Count; i++)
            Assert.Equal(ours[i], probabilities.AsSpan(i * 4, 4).ToArray(), new ToleranceComparer(1e-4f));
    }

    [Fact]
    public void The_reduced_v2_fixture_exported_to_onnx_gives_torchvisions_logits_in_onnx_runtime()
    {
        using var model = TorchvisionEquivalenceTests.ReducedModel("reduced_v2");
        model.LoadSafetensors(FixturePaths.Of("reduced_v2.safetensors"));
        var reference = SafetensorsFile.Open(FixturePaths.Of("reduced_v2_io.safetensors"));
        using var onnx = new MemoryStream();
        // The fixture's input is already normalized: an identity normalization ((x / 255 - 0) / (1 / 255)) passes it through.
        OnnxExport.Write(model, 64, onnx, null, new PixelNormalization(new[] { 0f, 0f, 0f }, new[] { 1 / 255f, 1 / 255f, 1 / 255f }));
        using var session = new InferenceSession(onnx.ToArray());
        var inputValues = reference.ReadFloats("input");
        var expected = reference.ReadFloats("logits");

        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, new DenseTensor<float>(inputValues.AsMemory(), new[] { 2, 3, 64, 64 })) });
        var logits = results.Single(r => r.Name == OnnxExport.LogitsName).AsTensor<float>().ToArray();

        Assert.Equal(expected, logits, new ToleranceComparer(1e-4f));
    }

    [Fact]
    public void A_v1_zip_stays_in_format_2_that_older_packages_read_and_a_v2_or_tensorflow_padded_zip_is_format_3()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        foreach (var (scaling, format) in new[]
        {
            (new EfficientNetScaling("tiny", 0.1, 0.1, 32, 0.2), 2),
            (TorchvisionEquivalenceTests.ReducedScaling("reduced_v2") with { Name = "tiny" }, 3),
            (new EfficientNetScaling("tiny", 0.1, 0.1, 32, 0.2) { Padding = ConvPadding.Same }, 3),
        })
        {
            var path = folder.File($"{scaling.Blocks.Name}-{scaling.Padding}.zip");
            using (var transformer = new EfficientNetTransformer(new EfficientNetModel(scaling, 3), CPU, 32, new[] { "a", "b", "c" },
                       "Image", "Score", "PredictedLabel", 8, Array.Empty<EpochMetrics>()))
                shapes.MLContext.Model.Save(transformer, Train.Schema, path);

            using var loaded = (EfficientNetTransformer)new MLContext().Model.Load(path, out _);

            Assert.Equal(format, SavedFormat(path, "tiny"));
            Assert.Equal((scaling.Blocks, scaling.Padding), (loaded.Model.Scaling.Blocks, loaded.Model.Scaling.Padding));
        }
    }

    /// <summary>The format number written before the description, which starts with the scaling's name.</summary>
    static int SavedFormat(string zip, string scalingName)
    {
        using var archive = ZipFile.OpenRead(zip);
        var entry = archive.Entries.Single(e => e.FullName.EndsWith("Model.key", StringComparison.Ordinal));
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var content = buffer.ToArray();
        var name = new[] { (byte)scalingName.Length }.Concat(System.Text.Encoding.UTF8.GetBytes(scalingName)).ToArray();
        return BitConverter.ToInt32(content, content.AsSpan().IndexOf(name) - 8);
    }
}

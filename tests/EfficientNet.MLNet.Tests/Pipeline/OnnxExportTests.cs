using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>The trained shapes classifier exported to ONNX, run by ONNX Runtime 1.31.1 and by ML.NET's ApplyOnnxModel.</summary>
[Collection(TrainingCollection.Name)]
public class OnnxExportTests(ShapesFixture shapes)
{
    [Fact]
    public void OnnxRuntime_gives_our_probabilities_within_1e_4_for_any_batch_size()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var path = folder.File("shapes.onnx");
        var classifier = shapes.Classifier;
        classifier.ExportOnnx(path);
        var random = new Random(11);
        var size = classifier.ImageSize;
        using var session = new InferenceSession(path);

        foreach (var batch in new[] { 1, 5 })
        {
            var images = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, 3 * size * size).Select(_ => (byte)random.Next(256)).ToArray()).ToList();
            var ours = classifier.Score(images);
            var input = new DenseTensor<float>(images.SelectMany(i => i.Select(b => (float)b)).ToArray(), new[] { batch, 3, size, size });

            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, input) });
            var probabilities = results.Single(r => r.Name == OnnxExport.ProbabilitiesName).AsTensor<float>().ToArray();

            for (var i = 0; i < batch; i++)
                Assert.Equal(ours[i], probabilities.AsSpan(i * ours[i].Length, ours[i].Length).ToArray(), new ToleranceComparer(1e-4f));
        }
        Assert.Equal(string.Join("\n", classifier.ClassNames), session.ModelMetadata.CustomMetadataMap["class_names"]);
        Assert.Equal("N", session.InputMetadata[OnnxExport.InputName].SymbolicDimensions[0]);
    }

    [Fact]
    public void Float16_weights_halve_the_file_and_change_no_prediction_of_the_shapes_test_set()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var classifier = shapes.Classifier;
        classifier.ExportOnnx(folder.File("single.onnx"));
        classifier.ExportOnnx(folder.File("half.onnx"), OnnxWeightPrecision.Float16);
        var size = classifier.ImageSize;
        var paths = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Select(r => r.ImagePath).ToList();
        var pixels = paths.Select(p => EfficientNet.MLNet.Imaging.RgbImage.FromEncoded(File.ReadAllBytes(p), size).Select(b => (float)b)).SelectMany(v => v).ToArray();
        var input = new DenseTensor<float>(pixels, new[] { paths.Count, 3, size, size });
        float[] Probabilities(string model)
        {
            using var session = new InferenceSession(folder.File(model));
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, input) });
            return results.Single(r => r.Name == OnnxExport.ProbabilitiesName).AsTensor<float>().ToArray();
        }
        int[] Predictions(float[] probabilities) => probabilities.Chunk(classifier.ClassNames.Count).Select(p => Array.IndexOf(p, p.Max())).ToArray();

        var single = Probabilities("single.onnx");
        var half = Probabilities("half.onnx");

        var sizeRatio = (double)new FileInfo(folder.File("half.onnx")).Length / new FileInfo(folder.File("single.onnx")).Length;
        var largestChange = single.Zip(half, (a, b) => Math.Abs(a - b)).Max();
        Assert.InRange(sizeRatio, 0.45, 0.52);
        Assert.Equal(Predictions(single), Predictions(half));
        Assert.True(largestChange < 2e-3, $"float16 weights moved a probability by {largestChange}");
        TestContext.Current.TestOutputHelper?.WriteLine($"float16 ONNX: {sizeRatio:0.000} of the file, {paths.Count} test images, largest probability change {largestChange:0.000000}");
    }

    [Fact]
    public void MLNets_ApplyOnnxModel_scores_the_exported_model_in_a_pipeline_like_Transform()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var path = folder.File("shapes.onnx");
        shapes.Classifier.ExportOnnx(path);
        var ml = shapes.MLContext;
        var rows = ml.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(20).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var size = shapes.Classifier.ImageSize;
        var pipeline = ml.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ml.Transforms.ResizeImages("Loaded", size, size))
            .Append(ml.Transforms.ExtractPixels(OnnxExport.InputName, "Loaded"))
            .Append(ml.Transforms.ApplyOnnxModel(new[] { OnnxExport.ProbabilitiesName }, new[] { OnnxExport.InputName }, path));

        using var onnx = pipeline.Fit(data) as IDisposable;
        var fromOnnx = ((ITransformer)onnx!).Transform(data).GetColumn<float[]>(OnnxExport.ProbabilitiesName).ToList();
        var pixels = ml.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
            .Append(ml.Transforms.ResizeImages("Loaded", size, size))
            .Append(ml.Transforms.ExtractPixels("Image", "Loaded"))
            .Fit(data).Transform(data);
        var fromTransform = shapes.Classifier.Transform(pixels).GetColumn<float[]>("Score").ToList();

        for (var i = 0; i < rows.Count; i++)
            Assert.Equal(fromTransform[i], fromOnnx[i], new ToleranceComparer(1e-4f));
    }
}

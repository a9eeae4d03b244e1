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

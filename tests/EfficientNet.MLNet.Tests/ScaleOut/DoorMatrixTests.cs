using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Image;
using EfficientNet.MLNet.Onnx;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// One model, one answer at every door: a trained model (the shapes fixture's, saved as the CLI saves pipelines:
/// LoadImages -> the trainer) and images of every kind (opaque, transparent, grayscale, 16-bit, CMYK, EXIF-rotated, 2:1,
/// 1:4, one pixel), scored through the saved pipeline (and a reloaded copy), a PredictionEngine, the classifier alone on
/// the file's bytes (as Model Builder feeds it), `efficientnet predict --model`, the web service (/predict and
/// /explain), the exported ONNX model under ONNX Runtime, the pipeline on the TorchSharp engine and Grad-CAM; and the
/// same for pipelines with ResizeImages (the second test). The same engine at two doors agrees within 1e-5 on every
/// probability, different engines within 1e-3, and the top class is the same everywhere.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class DoorMatrixTests(ShapesFixture shapes) : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    sealed class BytesRow
    {
        public byte[] Image { get; set; } = [];
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }

    [Fact]
    public async Task Every_door_gives_every_kind_of_image_the_same_probabilities()
    {
        // The shapes fixture's model (trained 15 epochs; a model trained for a step or two gives every image the same
        // probabilities), saved as the CLI and ML.NET's samples save pipelines: LoadImages -> the trainer.
        var model = folder.File("model.zip");
        shapes.MLContext.Model.Save(shapes.Model, shapes.TrainSet.Schema, model);
        var kinds = ImagesOfEveryKind(shapes.Images);
        var paths = kinds.Select(k => { var path = folder.File($"kinds/{k.Name}{k.Extension}"); Directory.CreateDirectory(Path.GetDirectoryName(path)!); File.WriteAllBytes(path, k.Bytes); return path; }).ToList();
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Model.Load(model, out _);
        var classifier = ((IEnumerable<ITransformer>)pipeline).OfType<EfficientNetTransformer>().Single();
        var classes = classifier.ClassNames;
        var rows = ml.Data.LoadFromEnumerable(paths.Select(p => new LabeledImage(p, "")));
        float[][] Scores(ITransformer transformer, IDataView data) => transformer.Transform(data).GetColumn<float[]>("Score").ToArray();

        var doors = new Dictionary<string, (float[][] Scores, string Engine)>();
        doors["saved pipeline"] = (Scores(pipeline, rows), "onnx");
        using (var reloaded = (IDisposable)ml.Model.Load(model, out _))
            doors["reloaded zip"] = (Scores((ITransformer)reloaded, rows), "onnx");
        var engine = ml.Model.CreatePredictionEngine<LabeledImage, ScoreRow>(pipeline);
        doors["PredictionEngine"] = (paths.Select(p => engine.Predict(new LabeledImage(p, "")).Score).ToArray(), "onnx");
        var bytesInput = SchemaDefinition.Create(typeof(BytesRow));
        bytesInput[nameof(BytesRow.Image)].ColumnName = classifier.FeatureColumnName;
        doors["classifier on the bytes"] = (Scores(classifier, ml.Data.LoadFromEnumerable(kinds.Select(k => new BytesRow { Image = k.Bytes }), bytesInput)), "onnx");
        doors["efficientnet predict"] = (CliScores(model, paths), "onnx");
        var (served, servedExplanations) = await ServiceScoresAndExplanations(model, kinds.Select(k => k.Bytes).ToList(), classes);
        doors["web service"] = (served, "onnx");
        doors["ONNX Runtime on the export"] = (ExportScores(classifier, kinds.Select(k => k.Bytes).ToList()), "onnx export");
        classifier.ScoringEngine = ScoringEngine.TorchSharp;
        doors["saved pipeline on TorchSharp"] = (Scores(pipeline, rows), "torchsharp");
        var explained = kinds.Select(k => { using var e = classifier.Explain(k.Bytes); return (e.ClassName, e.Probability); }).ToList();
        classifier.ScoringEngine = ScoringEngine.Auto;

        AssertTheModelTellsImagesApart(doors["saved pipeline"].Scores, kinds.Select(k => k.Name).ToList());
        var report = Disagreements(doors, kinds.Select(k => k.Name).ToList(), classes, ("Grad-CAM", explained), ("/explain", servedExplanations));
        Assert.Empty(report);
        Assert.Equal(12, kinds.Count);
    }

    /// <summary>
    /// A model saved as ML.NET's samples write pipelines (LoadImages -> ResizeImages -> the trainer), once with ResizeImages'
    /// default centre crop and once padded (IsoPad), through every door that runs a saved chain: the saved pipeline, a
    /// reloaded zip, a PredictionEngine, `efficientnet predict --model`, the web service's /predict and /explain, the
    /// pipeline on TorchSharp, and the ONNX export under ML.NET's ApplyOnnxModel behind the same LoadImages and ResizeImages
    /// (ExtractPixels gives it 0..255 RGB planes). Every kind of image, the limits of the test above.
    /// </summary>
    [Fact]
    public async Task A_pipeline_with_ResizeImages_crops_or_pads_alike_at_every_door_that_runs_it()
    {
        var kinds = ImagesOfEveryKind(shapes.Images);
        var paths = kinds.Select(k => { var path = folder.File($"kinds/{k.Name}{k.Extension}"); Directory.CreateDirectory(Path.GetDirectoryName(path)!); File.WriteAllBytes(path, k.Bytes); return path; }).ToList();
        var ml = shapes.MLContext;
        var data = shapes.TrainSet;
        // The shapes fixture's classifier behind ML.NET's LoadImages and ResizeImages, as ML.NET's samples write the
        // pipeline (its images are already of the classifier's size, so its training did not depend on the resize).
        var classifier = shapes.Classifier;
        var size = classifier.ImageSize;
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath))).Fit(data);
        ITransformer Chain(ImageResizingEstimator.ResizingKind resizing) => new TransformerChain<ITransformer>(
            [.. (IEnumerable<ITransformer>)prepare, ml.Transforms.ResizeImages("Image", size, size, "Image", resizing).Fit(prepare.Transform(data)), classifier]);
        var classes = classifier.ClassNames;
        var onnx = folder.File("chain.onnx");
        classifier.ExportOnnx(onnx);
        var rows = ml.Data.LoadFromEnumerable(paths.Select(p => new LabeledImage(p, "")));
        float[][] Scores(ITransformer transformer, IDataView input, string column = "Score") => transformer.Transform(input).GetColumn<float[]>(column).ToArray();

        var report = new List<string>();
        var byResize = new Dictionary<string, float[][]>();
        // ResizeImages' default (a centred crop), and padding.
        foreach (var (name, resizing) in new[] { ("crop", ImageResizingEstimator.ResizingKind.IsoCrop), ("pad", ImageResizingEstimator.ResizingKind.IsoPad) })
        {
            var chain = Chain(resizing);
            var zip = folder.File($"{name}.zip");
            ml.Model.Save(chain, data.Schema, zip);
            var pipeline = ml.Model.Load(zip, out _);
            var doors = new Dictionary<string, (float[][] Scores, string Engine)>();
            doors["saved pipeline"] = (Scores(pipeline, rows), "onnx");
            using (var reloaded = (IDisposable)ml.Model.Load(zip, out _))
                doors["reloaded zip"] = (Scores((ITransformer)reloaded, rows), "onnx");
            var engine = ml.Model.CreatePredictionEngine<LabeledImage, ScoreRow>(pipeline);
            doors["PredictionEngine"] = (paths.Select(p => engine.Predict(new LabeledImage(p, "")).Score).ToArray(), "onnx");
            doors["efficientnet predict"] = (CliScores(zip, paths), "onnx");
            var (served, explained) = await ServiceScoresAndExplanations(zip, kinds.Select(k => k.Bytes).ToList(), classes);
            doors["web service"] = (served, "onnx");
            var applyOnnx = ml.Transforms.LoadImages("Loaded", "", nameof(LabeledImage.ImagePath))
                .Append(ml.Transforms.ResizeImages("Loaded", size, size, resizing: resizing))
                .Append(ml.Transforms.ExtractPixels(OnnxExport.InputName, "Loaded"))
                .Append(ml.Transforms.ApplyOnnxModel([OnnxExport.ProbabilitiesName], [OnnxExport.InputName], onnx))
                .Fit(rows);
            doors["ApplyOnnxModel on the export"] = (Scores(applyOnnx, rows, OnnxExport.ProbabilitiesName), "onnx export");
            (applyOnnx as IDisposable)?.Dispose();
            var loadedClassifier = ((IEnumerable<ITransformer>)pipeline).OfType<EfficientNetTransformer>().Single();
            loadedClassifier.ScoringEngine = ScoringEngine.TorchSharp;
            doors["saved pipeline on TorchSharp"] = (Scores(pipeline, rows), "torchsharp");
            report.AddRange(Disagreements(doors, kinds.Select(k => $"{name}, {k.Name}").ToList(), classes, ("/explain", explained)));
            byResize[name] = doors["saved pipeline"].Scores;
        }

        Assert.Empty(report);
        AssertTheModelTellsImagesApart(byResize["crop"], kinds.Select(k => k.Name).ToList());
        // The premise: cropping and padding the 2:1 and 1:4 images give probabilities ten times further apart than the
        // loosest limit, so a door that resized otherwise than its chain would have been caught.
        foreach (var kind in new[] { "2:1", "1:4" })
        {
            var i = kinds.FindIndex(k => k.Name == kind);
            var apart = byResize["crop"][i].Zip(byResize["pad"][i], (a, b) => Math.Abs(a - b)).Max();
            TestContext.Current.TestOutputHelper?.WriteLine($"crop and pad, {kind}: {apart:E2} apart");
            Assert.True(apart > 1e-2f, $"cropping and padding the {kind} image give probabilities only {apart} apart");
        }
    }

    /// <summary>
    /// The premise of a door matrix: the model's probabilities depend on the image (a model trained for a step or two
    /// gives every image the same ones, and every door would agree whatever it did to the pixels). The two opaque shapes
    /// are of two classes: their probabilities must be far apart.
    /// </summary>
    static void AssertTheModelTellsImagesApart(float[][] scores, IReadOnlyList<string> kinds)
    {
        var apart = scores[0].Zip(scores[1], (a, b) => Math.Abs(a - b)).Max();
        var distinct = scores.Select(s => string.Join(",", s)).Distinct().Count();
        Assert.True(apart > 0.05f && distinct == kinds.Count, $"the model gives {kinds[0]} and {kinds[1]} probabilities only {apart} apart and {distinct} of {kinds.Count} images distinct ones: a door matrix on it could not fail");
    }

    /// <summary>
    /// What differs from the first door's probabilities: over 1e-5 at a door on the same engine (ONNX Runtime on the
    /// model's own session), over 1e-3 elsewhere, another top class anywhere; and an explanation of another class or probability.
    /// </summary>
    static List<string> Disagreements(Dictionary<string, (float[][] Scores, string Engine)> doors, IReadOnlyList<string> kinds, IReadOnlyList<string> classes,
        params (string Door, IReadOnlyList<(string ClassName, float Probability)> Classes)[] explanations)
    {
        var reference = doors.First().Value.Scores;
        var report = new List<string>();
        foreach (var (door, (scores, kindOfEngine)) in doors)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"{door} ({kinds[0].Split(',')[0]}...): worst {scores.Zip(reference, (s, r) => s.Zip(r, (a, b) => Math.Abs(a - b)).Max()).Max():E2}");
            for (var i = 0; i < kinds.Count; i++)
            {
                var tolerance = kindOfEngine == "onnx" ? 1e-5f : 1e-3f;
                var worst = scores[i].Zip(reference[i], (a, b) => Math.Abs(a - b)).Max();
                if (worst > tolerance)
                    report.Add($"{door}, {kinds[i]}: {worst:E2} off (tolerance {tolerance:E0})");
                if (Array.IndexOf(scores[i], scores[i].Max()) != Array.IndexOf(reference[i], reference[i].Max()))
                    report.Add($"{door}, {kinds[i]}: another top class");
            }
        }
        foreach (var explained in explanations)
            for (var i = 0; i < kinds.Count; i++)
            {
                var top = Array.IndexOf(reference[i], reference[i].Max());
                var (className, probability) = explained.Classes[i];
                if (className != classes[top] || Math.Abs(probability - reference[i][top]) > 1e-3f)
                    report.Add($"{explained.Door}, {kinds[i]}: {className} {probability} against {classes[top]} {reference[i][top]}");
            }
        return report;
    }

    static float[][] CliScores(string model, IReadOnlyList<string> paths)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(["predict", "--model", model, "--top", "0", "--json", .. paths], output, error);
        Assert.True(exit == 0, error.ToString());
        var lines = JsonDocument.Parse(output.ToString()).RootElement.EnumerateArray().ToList();
        Assert.Equal(paths, lines.Select(l => l.GetProperty("image").GetString()));
        return lines.Select(BatchScoringCliTests.AllProbabilities).ToArray();
    }

    /// <summary>Each image's probabilities from the web service's /predict, and the class and probability its /explain explained.</summary>
    static async Task<(float[][] Scores, List<(string ClassName, float Probability)> Explained)> ServiceScoresAndExplanations(string model, IReadOnlyList<byte[]> images, IReadOnlyList<string> classes)
    {
        using var service = new ServiceProcess(model, 10_000_000);
        using var client = new HttpClient { BaseAddress = new Uri(service.Address), Timeout = TimeSpan.FromSeconds(60) };
        static MultipartFormDataContent Form(byte[] image)
        {
            var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(file, "image", "upload");
            return form;
        }
        var scores = new List<float[]>();
        var explained = new List<(string, float)>();
        foreach (var image in images)
        {
            using var form = Form(image);
            using var response = await client.PostAsync("/predict?top=100", form, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, body);
            var byLabel = JsonDocument.Parse(body).RootElement.GetProperty("predictions").EnumerateArray()
                .ToDictionary(p => p.GetProperty("label").GetString()!, p => p.GetProperty("probability").GetSingle());
            scores.Add(classes.Select(c => byLabel[c]).ToArray());
            using var explainForm = Form(image);
            using var explanation = await client.PostAsync("/explain", explainForm, TestContext.Current.CancellationToken);
            Assert.True(explanation.IsSuccessStatusCode, await explanation.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            explained.Add((Uri.UnescapeDataString(explanation.Headers.GetValues("X-Explained-Class").Single()),
                float.Parse(explanation.Headers.GetValues("X-Explained-Probability").Single(), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return (scores.ToArray(), explained);
    }

    float[][] ExportScores(EfficientNetTransformer classifier, IReadOnlyList<byte[]> images)
    {
        var onnx = folder.File("model.onnx");
        classifier.ExportOnnx(onnx);
        using var session = new InferenceSession(onnx);
        var size = classifier.ImageSize;
        // The export takes 0..255 RGB planes (its normalization inside); the library's own decoding gives them.
        var pixels = images.SelectMany(i => RgbImage.FromEncoded(i, size).Select(b => (float)b)).ToArray();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", new DenseTensor<float>(pixels, [images.Count, 3, size, size]))]);
        var probabilities = results.First(r => r.Name == "probabilities").AsTensor<float>().ToArray();
        var classes = classifier.ClassNames.Count;
        return Enumerable.Range(0, images.Count).Select(i => probabilities.AsSpan(i * classes, classes).ToArray()).ToArray();
    }

    static byte[] Fixture(string name) => File.ReadAllBytes(FixturePaths.Of(Path.Combine("images", name)));

    /// <summary>Twelve kinds of image made from two of the shapes (of two classes).</summary>
    static List<(string Name, string Extension, byte[] Bytes)> ImagesOfEveryKind(IReadOnlyList<LabeledImage> images)
    {
        var first = images.First(i => i.ImagePath.EndsWith(".png", StringComparison.Ordinal));
        var shape = File.ReadAllBytes(first.ImagePath);
        var other = File.ReadAllBytes(images.First(i => i.Label != first.Label && i.ImagePath.EndsWith(".png", StringComparison.Ordinal)).ImagePath);
        using var decoded = SKBitmap.Decode(shape);
        // Transparent: the shape with an alpha that falls from opaque at the top to clear at the bottom.
        using var transparent = new SKBitmap(new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < decoded.Height; y++)
            for (var x = 0; x < decoded.Width; x++)
                transparent.SetPixel(x, y, decoded.GetPixel(x, y).WithAlpha((byte)(255 - 255 * y / decoded.Height)));
        using var gray = new SKBitmap(new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Gray8, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(gray))
            canvas.DrawBitmap(decoded, 0, 0);
        return
        [
            ("opaque", ".png", shape),
            ("another opaque", ".png", other),
            ("transparent", ".png", Encode(transparent, SKEncodedImageFormat.Png)),
            ("grayscale", ".png", Encode(gray, SKEncodedImageFormat.Png)),
            ("16-bit colour", ".png", Fixture("rgb16.png")),
            ("16-bit grayscale", ".png", Fixture("gray16.png")),
            ("CMYK", ".jpg", Fixture("cmyk.jpg")),
            ("EXIF-rotated", ".jpg", WithExifOrientation(ReEncoded.Jpeg(ReEncoded.Resized(shape, 48, 32)), orientation: 6)),
            ("2:1", ".png", ReEncoded.Resized(shape, 64, 32)),
            ("1:4", ".png", ReEncoded.Resized(other, 16, 64)),
            ("one pixel", ".png", Fixture("one-pixel.png")),
            ("JPEG", ".jpg", ReEncoded.Jpeg(shape)),
        ];
    }

    static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var data = bitmap.Encode(format, 100);
        return data.ToArray();
    }

    /// <summary>A JPEG with an EXIF segment (APP1) saying "rotate 90 degrees clockwise to show" (orientation 6, as phones write).</summary>
    static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new byte[26];
        "MM\0*"u8.CopyTo(tiff);                                   // big-endian TIFF
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);  // the first IFD
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1);  // one entry:
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(10), 0x0112); // Orientation
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(12), 3);      // SHORT
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(14), 1);      // one value
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(18), orientation);
        var segment = new byte[4 + 6 + tiff.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(2 + 6 + tiff.Length));
        "Exif\0\0"u8.CopyTo(segment.AsSpan(4));
        tiff.CopyTo(segment, 10);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }
}

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
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// One model, one answer at every door: a model the CLI trained (saved as ML.NET pipelines are: LoadImages -> the
/// trainer) and images of every kind (opaque, transparent, grayscale, 16-bit, CMYK, EXIF-rotated, 2:1, 1:4, one pixel),
/// scored through the saved pipeline (and a reloaded copy), a PredictionEngine, the classifier alone on the file's bytes
/// (as Model Builder feeds it), `efficientnet predict --model`, the web service, the exported ONNX model under ONNX
/// Runtime, the pipeline on the TorchSharp engine and Grad-CAM. The same engine at two doors agrees within 1e-5 on every
/// probability, different engines within 1e-3, and the top class is the same everywhere.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class DoorMatrixTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

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
        var (images, model) = QuickCliModel.Train(folder, imagesPerClass: 4, seed: 15);
        var kinds = ImagesOfEveryKind(File.ReadAllBytes(images[0].ImagePath), File.ReadAllBytes(images[5].ImagePath));
        var paths = kinds.Select(k => { var path = folder.File($"kinds/{k.Name}{k.Extension}"); Directory.CreateDirectory(Path.GetDirectoryName(path)!); File.WriteAllBytes(path, k.Bytes); return path; }).ToList();
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Model.Load(model, out _);
        var classifier = ((IEnumerable<ITransformer>)pipeline).OfType<EfficientNetTransformer>().Single();
        var classes = classifier.ClassNames;
        var rows = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        float[][] Scores(ITransformer transformer, IDataView data) => transformer.Transform(data).GetColumn<float[]>("Score").ToArray();

        var doors = new Dictionary<string, (float[][] Scores, string Engine)>();
        doors["saved pipeline"] = (Scores(pipeline, rows), "onnx");
        using (var reloaded = (IDisposable)ml.Model.Load(model, out _))
            doors["reloaded zip"] = (Scores((ITransformer)reloaded, rows), "onnx");
        var engine = ml.Model.CreatePredictionEngine<PathRow, ScoreRow>(pipeline);
        doors["PredictionEngine"] = (paths.Select(p => engine.Predict(new PathRow { ImagePath = p }).Score).ToArray(), "onnx");
        var bytesInput = SchemaDefinition.Create(typeof(BytesRow));
        bytesInput[nameof(BytesRow.Image)].ColumnName = classifier.FeatureColumnName;
        doors["classifier on the bytes"] = (Scores(classifier, ml.Data.LoadFromEnumerable(kinds.Select(k => new BytesRow { Image = k.Bytes }), bytesInput)), "onnx");
        doors["efficientnet predict"] = (CliScores(model, paths, classes), "onnx");
        doors["web service"] = (await ServiceScores(model, kinds.Select(k => k.Bytes).ToList(), classes), "onnx");
        doors["ONNX Runtime on the export"] = (ExportScores(classifier, kinds.Select(k => k.Bytes).ToList()), "onnx export");
        classifier.ScoringEngine = ScoringEngine.TorchSharp;
        doors["saved pipeline on TorchSharp"] = (Scores(pipeline, rows), "torchsharp");
        var explained = kinds.Select(k => { using var e = classifier.Explain(k.Bytes); return (e.ClassName, e.Probability); }).ToList();
        classifier.ScoringEngine = ScoringEngine.Auto;

        var reference = doors["saved pipeline"].Scores;
        var report = new List<string>();
        foreach (var (door, (scores, kindOfEngine)) in doors)
            for (var i = 0; i < kinds.Count; i++)
            {
                var tolerance = kindOfEngine == "onnx" ? 1e-5f : 1e-3f;
                var worst = scores[i].Zip(reference[i], (a, b) => Math.Abs(a - b)).Max();
                if (worst > tolerance)
                    report.Add($"{door}, {kinds[i].Name}: {worst:E2} off (tolerance {tolerance:E0})");
                if (Array.IndexOf(scores[i], scores[i].Max()) != Array.IndexOf(reference[i], reference[i].Max()))
                    report.Add($"{door}, {kinds[i].Name}: another top class");
            }
        for (var i = 0; i < kinds.Count; i++)
        {
            var top = Array.IndexOf(reference[i], reference[i].Max());
            if (explained[i].ClassName != classes[top] || Math.Abs(explained[i].Probability - reference[i][top]) > 1e-3f)
                report.Add($"Grad-CAM, {kinds[i].Name}: {explained[i].ClassName} {explained[i].Probability} against {classes[top]} {reference[i][top]}");
        }
        Assert.Empty(report);
        Assert.Equal(12, kinds.Count);
    }

    static float[][] CliScores(string model, IReadOnlyList<string> paths, IReadOnlyList<string> classes)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(["predict", "--model", model, "--top", "0", "--json", .. paths], output, error);
        Assert.True(exit == 0, error.ToString());
        var lines = JsonDocument.Parse(output.ToString()).RootElement.EnumerateArray().ToList();
        Assert.Equal(paths, lines.Select(l => l.GetProperty("image").GetString()));
        return lines.Select(l => l.GetProperty("top").EnumerateArray().OrderBy(t => t.GetProperty("index").GetInt32()).Select(t => t.GetProperty("probability").GetSingle()).ToArray()).ToArray();
    }

    async Task<float[][]> ServiceScores(string model, IReadOnlyList<byte[]> images, IReadOnlyList<string> classes)
    {
        using var service = new ServiceProcess(model, 10_000_000);
        using var client = new HttpClient { BaseAddress = new Uri(service.Address) };
        var scores = new List<float[]>();
        foreach (var image in images)
        {
            using var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(file, "image", "upload");
            using var response = await client.PostAsync("/predict?top=100", form, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, body);
            var byLabel = JsonDocument.Parse(body).RootElement.GetProperty("predictions").EnumerateArray()
                .ToDictionary(p => p.GetProperty("label").GetString()!, p => p.GetProperty("probability").GetSingle());
            scores.Add(classes.Select(c => byLabel[c]).ToArray());
        }
        return scores.ToArray();
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

    static List<(string Name, string Extension, byte[] Bytes)> ImagesOfEveryKind(byte[] shape, byte[] other)
    {
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

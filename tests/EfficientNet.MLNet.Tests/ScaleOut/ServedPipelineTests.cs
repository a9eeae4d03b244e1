using System.Net.Http.Headers;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// The web service scores a model saved as ML.NET's samples write pipelines (LoadImages -> ResizeImages -> the trainer)
/// through the pipeline's own preprocessing: a 2:1 upload is padded as ResizeImages pads it, not stretched, so the
/// service gives the saved pipeline's probabilities (the service once took the classifier alone and was 0.89 off on
/// 2:1 images). Both sides score with ONNX Runtime; the limit, 1e-5, is float rounding.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ServedPipelineTests
{
    [Fact]
    public async Task A_pipeline_with_ResizeImages_is_served_with_its_own_preprocessing()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var images = SyntheticShapes.Write(folder.File("shapes"), imagesPerClass: 40, size: 48, seed: 3);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(images);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Append(ml.Transforms.ResizeImages("Image", 48, 48, "Image", resizing: ImageResizingEstimator.ResizingKind.IsoPad))
            .Append(ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options { ImageSize = 48, Epochs = 20, Seed = 1, ValidationFraction = 0, Augment = false }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);
        var zip = folder.File("pipeline.zip");
        ml.Model.Save(model, data.Schema, zip);
        var wide = folder.File("wide.png");
        WriteWide(images[0].ImagePath, wide); // 96 x 48: the shape on the left, white on the right

        using var service = new ServiceProcess(zip, 1_000_000);
        using var client = new HttpClient { BaseAddress = new Uri(service.Address), Timeout = TimeSpan.FromSeconds(60) };
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(File.ReadAllBytes(wide));
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "wide.png");
        using var response = await client.PostAsync("/predict?top=4", form, TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        var health = JsonDocument.Parse(await client.GetStringAsync("/health", TestContext.Current.CancellationToken)).RootElement;
        using var explainForm = new MultipartFormDataContent();
        var explainFile = new ByteArrayContent(File.ReadAllBytes(wide));
        explainFile.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        explainForm.Add(explainFile, "image", "wide.png");
        using var explained = await client.PostAsync("/explain", explainForm, TestContext.Current.CancellationToken);

        var loaded = new MLContext().Model.Load(zip, out _);
        var expected = loaded.Transform(ml.Data.LoadFromEnumerable(new[] { new LabeledImage(wide, "circle") })).GetColumn<float[]>("Score").Single();
        var classifier = ((IEnumerable<ITransformer>)loaded).OfType<EfficientNetTransformer>().Single();
        var classes = classifier.ClassNames;
        // The premise: stretching the upload (the classifier alone on its bytes) gives other probabilities than the pipeline.
        var stretched = classifier.Transform(ml.Data.LoadFromEnumerable(new[] { new ImageBytes { Image = File.ReadAllBytes(wide) } })).GetColumn<float[]>("Score").Single();
        var premise = expected.Zip(stretched).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(premise > 1e-3, $"padding and stretching the 2:1 image give probabilities only {premise} apart: the test could not tell them apart");
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        var served = body.GetProperty("predictions").EnumerateArray().ToDictionary(p => p.GetProperty("label").GetString()!, p => p.GetProperty("probability").GetSingle());
        for (var c = 0; c < classes.Count; c++)
            Assert.Equal(expected[c], served[classes[c]], 1e-5f);
        Assert.StartsWith("the saved pipeline from ImageLoadingTransformer", health.GetProperty("preprocessing").GetString());
        // /explain sees what /predict scored (padded, not stretched): its predicted class and probability are the
        // pipeline's (Grad-CAM runs on TorchSharp: 1e-3).
        Assert.True(explained.IsSuccessStatusCode);
        var top = Array.IndexOf(expected, expected.Max());
        Assert.Equal(classes[top], Uri.UnescapeDataString(explained.Headers.GetValues("X-Predicted-Class").Single()));
        Assert.Equal(classes[top], Uri.UnescapeDataString(explained.Headers.GetValues("X-Explained-Class").Single()));
        var explainedProbability = float.Parse(explained.Headers.GetValues("X-Explained-Probability").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(explainedProbability - expected[top]) < 1e-3f, $"/explain saw {explainedProbability}, /predict {expected[top]} (stretched: {stretched[top]})");
    }

    public sealed class ImageBytes
    {
        public byte[] Image { get; set; } = Array.Empty<byte>();
    }

    static void WriteWide(string square, string path)
    {
        using var source = SKBitmap.Decode(square);
        using var wide = new SKBitmap(2 * source.Width, source.Height);
        using (var canvas = new SKCanvas(wide))
        {
            canvas.Clear(SKColors.White);
            canvas.DrawBitmap(source, 0, 0);
        }
        using var png = wide.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, png.ToArray());
    }
}

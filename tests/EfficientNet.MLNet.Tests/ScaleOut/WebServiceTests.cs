using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>examples/WebService run as its own process on the loopback interface, with a model the CLI trained.</summary>
[Collection(TrainingCollection.Name)]
public sealed class WebServiceTests : IDisposable
{
    const long MaxUploadBytes = 200_000;
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly IReadOnlyList<LabeledImage> images;
    private readonly string modelFile;
    private readonly ServiceProcess service;
    private readonly HttpClient client;

    public WebServiceTests()
    {
        string trained;
        (images, trained) = QuickCliModel.Train(folder, imagesPerClass: 4, seed: 12);
        modelFile = folder.File("served/model.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(modelFile)!);
        File.Copy(trained, modelFile);
        service = new ServiceProcess(modelFile, MaxUploadBytes);
        client = new HttpClient { BaseAddress = new Uri(service.Address), Timeout = TimeSpan.FromSeconds(60) };
    }

    public void Dispose()
    {
        client.Dispose();
        service.Dispose();
        folder.Dispose();
    }

    static CancellationToken Token => TestContext.Current.CancellationToken;

    static MultipartFormDataContent Form(byte[] bytes, string name = "image.png")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", name);
        return form;
    }

    async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, HttpContent content)
    {
        using var response = await client.PostAsync(path, content, Token);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement);
    }

    async Task<JsonElement> Health() => JsonDocument.Parse(await client.GetStringAsync("/health", Token)).RootElement;

    [Fact]
    public async Task It_serves_the_models_top_classes_as_the_library_scores_them_and_an_overlay_and_the_page()
    {
        var health = await Health();
        var image = File.ReadAllBytes(images[0].ImagePath);

        var (status, body) = await Post("/predict?top=4", Form(image));
        var raw = await Post("/predict", new ByteArrayContent(image));
        using var overlay = await client.PostAsync("/explain", Form(image), Token);
        var page = await client.GetStringAsync("/", Token);

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(1, health.GetProperty("version").GetInt32());
        Assert.Equal("OnnxRuntime", health.GetProperty("engine").GetString());
        Assert.Equal(HttpStatusCode.OK, status);
        var predictions = body.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(SyntheticShapes.Classes.Order(), predictions.Select(p => p.GetProperty("label").GetString()).Order());
        // The library's own scores of the same file, through the saved pipeline.
        var ml = new Microsoft.ML.MLContext();
        var model = ml.Model.Load(modelFile, out _);
        var expected = model.Transform(ml.Data.LoadFromEnumerable(new[] { new LabeledImage(images[0].ImagePath, "") }))
            .GetColumn<float[]>("Score").Single();
        var classes = health.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList();
        foreach (var p in predictions)
            Assert.Equal(expected[classes.IndexOf(p.GetProperty("label").GetString()!)], p.GetProperty("probability").GetSingle(), 4);
        Assert.Equal(3, raw.Body.GetProperty("predictions").GetArrayLength()); // the body itself, default top 3
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        Assert.Equal("image/png", overlay.Content.Headers.ContentType?.MediaType);
        using (var drawn = SkiaSharp.SKBitmap.Decode(await overlay.Content.ReadAsByteArrayAsync(Token)))
        using (var sent = SkiaSharp.SKBitmap.Decode(image))
            Assert.Equal((sent.Width, sent.Height), (drawn.Width, drawn.Height)); // a PNG of the upload's own size
        Assert.Contains("<input type=\"file\"", page);
    }

    [Fact]
    public async Task Bad_uploads_get_4xx_with_what_was_expected()
    {
        var empty = await Post("/predict", new ByteArrayContent(Array.Empty<byte>()));
        var text = await Post("/predict", Form("just some text"u8.ToArray(), "notes.txt"));
        var large = await Post("/predict", new ByteArrayContent(new byte[MaxUploadBytes + 1]));
        var largeChunked = await Post("/predict", new UnknownLengthContent(new byte[3 * MaxUploadBytes])); // cut while read
        var noFile = await Post("/predict", new MultipartFormDataContent { { new StringContent("x"), "comment" } });
        var unknownClass = await Post("/explain?class=hexagon", Form(File.ReadAllBytes(images[0].ImagePath)));

        Assert.Equal(HttpStatusCode.BadRequest, empty.Status);
        Assert.Contains("The upload is empty", empty.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, text.Status);
        Assert.Contains("are not a PNG, JPEG, BMP, GIF or WebP image", text.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.Status);
        Assert.Contains($"the limit is {MaxUploadBytes}", large.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, largeChunked.Status);
        Assert.Contains($"The upload is more than {MaxUploadBytes}", largeChunked.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, noFile.Status);
        Assert.Contains("form field 'image'", noFile.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unknownClass.Status);
        Assert.Contains("'hexagon' is not a class of the model", unknownClass.Body.GetProperty("error").GetString());
        Assert.Equal("ok", (await Health()).GetProperty("status").GetString()); // still serving
    }

    [Fact]
    public async Task Bombs_and_malformed_forms_get_4xx_with_a_reason_fast_and_a_good_image_after_each_is_scored()
    {
        var good = File.ReadAllBytes(images[0].ImagePath);
        var bomb = HostileImages.PngDeclaring(40_000, 40_000); // 6.4 GB decoded; the service's limit is 25 million pixels
        var wide = HostileImages.PngDeclaring(30_000, 20);      // 600,000 pixels: within the limit, scored
        var malformed = new ByteArrayContent("--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nPNG"u8.ToArray());
        malformed.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz");
        var clock = Stopwatch.StartNew();

        var results = new List<(string Name, HttpStatusCode Status, JsonElement Body, HttpStatusCode After)>();
        foreach (var (name, path, content) in new (string, string, Func<HttpContent>)[]
                 {
                     ("bomb", "/predict", () => Form(bomb)), ("bomb as the body", "/predict", () => new ByteArrayContent(bomb)),
                     ("bomb to explain", "/explain", () => Form(bomb)), ("malformed form", "/predict", () => malformed),
                 })
        {
            var (status, body) = await Post(path, content());
            var after = await Post("/predict", Form(good));
            results.Add((name, status, body, after.Status));
        }
        var wideResult = await Post("/predict", Form(wide));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}: something was decoded");
        foreach (var (name, status, body, after) in results)
        {
            Assert.True(status is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest, $"{name}: {status}");
            Assert.Equal(HttpStatusCode.OK, after);
        }
        Assert.Equal(HttpStatusCode.UnprocessableEntity, results[0].Status);
        Assert.StartsWith("The upload: the image declares 40000x40000 = 1,600,000,000 pixels, more than the limit of 25,000,000", results[0].Body.GetProperty("error").GetString());
        Assert.Equal(25_000_000, results[0].Body.GetProperty("maxPixels").GetInt64());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, results[2].Status);
        Assert.Equal(HttpStatusCode.BadRequest, results[3].Status);
        Assert.Contains("The form could not be read", results[3].Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, wideResult.Status);
    }

    [Fact]
    public async Task Health_names_no_path_and_the_page_escapes_labels_under_a_content_security_policy()
    {
        var health = await client.GetStringAsync("/health", Token);
        using var page = await client.GetAsync("/", Token);
        var html = await page.Content.ReadAsStringAsync(Token);

        Assert.Equal("model.zip", JsonDocument.Parse(health).RootElement.GetProperty("model").GetString());
        Assert.DoesNotContain(folder.File(""), health);
        Assert.DoesNotContain("innerHTML", html); // labels come from folder names: inserted as text
        Assert.Contains("textContent", html);
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", policy);
        Assert.Matches("script-src 'sha256-[A-Za-z0-9+/=]{44}'", policy);
    }

    [Fact]
    public async Task A_new_model_file_is_served_without_dropping_requests_in_flight_and_a_damaged_one_is_not_taken()
    {
        using var other = new FixturePaths.TemporaryFolder();
        var twoClasses = other.File("data");
        foreach (var shape in new[] { "circle", "cross" })
            foreach (var image in images.Where(i => i.Label == shape))
                File.Copy(image.ImagePath, Path.Combine(Directory.CreateDirectory(Path.Combine(twoClasses, shape)).FullName, Path.GetFileName(image.ImagePath)));
        var replacement = other.File("model.zip");
        Assert.Equal(0, EfficientNet.MLNet.Cli.EfficientNetCli.Run(new[] { "train", "--data", twoClasses, "--epochs", "1", "--resolution", "32", "--validation-fraction", "0", "--output", replacement },
            TextWriter.Null, TextWriter.Null));
        var bytes = File.ReadAllBytes(images[0].ImagePath);
        using var stop = new CancellationTokenSource();

        var load = Enumerable.Range(0, 4).Select(async _ =>
        {
            var answers = new List<(HttpStatusCode Status, int ModelVersion)>();
            while (!stop.IsCancellationRequested)
            {
                var (status, body) = await Post("/predict", Form(bytes));
                answers.Add((status, status == HttpStatusCode.OK ? body.GetProperty("modelVersion").GetInt32() : 0));
            }
            return answers;
        }).ToList();
        await Task.Delay(500, Token);
        File.Copy(replacement, modelFile + ".new");
        File.Move(modelFile + ".new", modelFile, overwrite: true); // as AtomicFile and deployments replace a file
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Health()).GetProperty("version").GetInt32() < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(200, Token);
        await Task.Delay(500, Token);
        stop.Cancel();
        var answers = (await Task.WhenAll(load)).SelectMany(s => s).ToList();

        var health = await Health();
        Assert.Equal(2, health.GetProperty("version").GetInt32());
        Assert.Equal(new[] { "circle", "cross" }, health.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.True(answers.Count > 10, $"{answers.Count} requests");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        // The load ran across the swap: the old model answered some requests and the new one others.
        Assert.Equal(new[] { 1, 2 }, answers.Select(a => a.ModelVersion).Distinct().Order());

        // A damaged file next: the loaded model keeps serving, and /health says why the new one was not taken.
        File.WriteAllText(modelFile + ".new", "not a model");
        File.Move(modelFile + ".new", modelFile, overwrite: true);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Health()).GetProperty("lastReloadError").ValueKind == JsonValueKind.Null && DateTime.UtcNow < deadline)
            await Task.Delay(200, Token);
        var kept = await Health();
        Assert.Equal(2, kept.GetProperty("version").GetInt32());
        Assert.Contains("model.zip", kept.GetProperty("lastReloadError").GetString());
        Assert.DoesNotContain(modelFile, kept.GetProperty("lastReloadError").GetString()); // the name, not where it lives
        Assert.Equal(HttpStatusCode.OK, (await Post("/predict", Form(bytes))).Status);
    }

    [Fact]
    public async Task A_bounded_load_test_has_no_errors_and_flat_memory()
    {
        const int warmUp = 400, requests = 400, rounds = 12, concurrency = 8;
        var bytes = images.Select(i => File.ReadAllBytes(i.ImagePath)).ToList();
        async Task<List<double>> Run(int count)
        {
            var latencies = new List<double>();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var watch = Stopwatch.StartNew();
                    using var response = await client.PostAsync("/predict", Form(bytes[i % bytes.Count]), Token);
                    watch.Stop();
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    lock (latencies) latencies.Add(watch.Elapsed.TotalMilliseconds);
                }
            }));
            return latencies;
        }

        // After a warm-up (engines pooled, ONNX Runtime's arenas and the GC's heaps grown), memory is sampled after each
        // of several equal rounds: flat means the last rounds hold no more than the first.
        await Run(warmUp);
        var resident = new List<long>();
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            latencies.AddRange(await Run(requests));
            resident.Add(service.ResidentBytes());
        }
        clock.Stop();

        latencies.Sort();
        var report = new
        {
            requests = rounds * requests, concurrency, image = "32 px PNG upload, b0 at 32 px, ONNX Runtime",
            throughputPerSecond = Math.Round(rounds * requests / clock.Elapsed.TotalSeconds, 1),
            p50Milliseconds = Math.Round(latencies[latencies.Count / 2], 2), p99Milliseconds = Math.Round(latencies[(int)(latencies.Count * 0.99)], 2),
            residentMegabytesAfterEachRound = resident.Select(r => r / 1_000_000).ToList(),
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(FixturePaths.Artifacts("webservice"), "load-test.json"), json);
        TestContext.Current.TestOutputHelper?.WriteLine(json);
        Assert.Equal(rounds * requests, latencies.Count);
        Assert.True(resident[^1] <= resident[0] * 1.05, $"resident memory after each round of {requests} requests: {string.Join(", ", report.residentMegabytesAfterEachRound)} MB");
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// examples/WebService, started as the README says, under a fixed time of concurrent clients that mix good images with
/// hostile uploads: bombs of every format, truncated files, random bytes, wrong content types, oversized bodies (with
/// and without a length, and from a client that sends everything before it reads), malformed forms, slow senders and a
/// client that never finishes its headers. Every hostile request gets its 4xx within a bound, none a 5xx; every good
/// image (one right after each hostile request, and two clients that send only good ones) gets the probabilities it
/// gets alone; the service's peak resident memory stays under a stated bound. The figures go to
/// TestResults/artifacts/webservice/hostile-load.json (and docs/RELIABILITY.md).
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class HostileLoadTests : IDisposable
{
    const long MaxUploadBytes = 200_000;
    const int RequestTimeoutSeconds = 10, HeadersTimeoutSeconds = 5, ScoringTurns = 2;
    static readonly TimeSpan Duration = TimeSpan.FromSeconds(40);

    // The bound on the service's peak resident memory: the runtime, ONNX Runtime and the model (about 280 MB measured here
    // under this load), the admitted bodies (at most 32 x 264 KB) and the decodes of the good images sent (at most
    // 640 x 480), with room for the GC's heaps on other machines: 700 MB. Before the pixel budget one PNG bomb alone
    // asked for 6.4 GB (the issue measured 14 GB); a service that decoded the bombs could not stay under it.
    const long PeakResidentBound = 700_000_000;

    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly IReadOnlyList<byte[]> good;
    private readonly ServiceProcess service;
    private readonly HttpClient client;

    public HostileLoadTests()
    {
        var (images, model) = QuickCliModel.Train(folder, imagesPerClass: 4, seed: 13);
        good = images.Select(i => File.ReadAllBytes(i.ImagePath)).Append(ReEncoded.Resized(File.ReadAllBytes(images[0].ImagePath), 640, 480)).ToList();
        service = new ServiceProcess(model, MaxUploadBytes, $"--RequestTimeoutSeconds={RequestTimeoutSeconds}",
            $"--HeadersTimeoutSeconds={HeadersTimeoutSeconds}", $"--MaxConcurrentScoring={ScoringTurns}");
        client = new HttpClient { BaseAddress = new Uri(service.Address), Timeout = TimeSpan.FromSeconds(60) };
    }

    public void Dispose()
    {
        client.Dispose();
        service.Dispose();
        folder.Dispose();
    }

    static CancellationToken Token => TestContext.Current.CancellationToken;

    sealed record Hostile(string Name, HttpStatusCode Expected, TimeSpan Bound, Func<Task<HttpStatusCode>> Send);

    sealed record Answer(string Name, HttpStatusCode Expected, HttpStatusCode Status, double Milliseconds, TimeSpan Bound);

    [Fact]
    public async Task Hostile_uploads_among_good_ones_get_their_4xx_never_a_5xx_and_every_good_image_its_own_answer()
    {
        // What each good image gets alone, before the load.
        var expected = new List<float[]>();
        foreach (var image in good)
            expected.Add(await Scores(image) ?? throw new InvalidOperationException("A good image was not scored before the load."));
        var hostile = HostileRequests();
        var answers = new List<Answer>();
        var goodLatencies = new List<double>();
        var wrongGood = new List<string>();
        var peakSampled = 0L;
        using var stop = new CancellationTokenSource(Duration);

        async Task SendGood(int index)
        {
            var watch = Stopwatch.StartNew();
            var scores = await Scores(good[index]);
            watch.Stop();
            lock (goodLatencies)
            {
                goodLatencies.Add(watch.Elapsed.TotalMilliseconds);
                var want = expected[index];
                if (scores is null || scores.Length != want.Length || scores.Zip(want).Any(p => Math.Abs(p.First - p.Second) > 1e-5f))
                    wrongGood.Add($"good image {index}: {(scores is null ? "not scored" : string.Join(", ", scores))} instead of {string.Join(", ", want)}");
            }
        }

        var hostileClients = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; !stop.IsCancellationRequested; i++)
            {
                var request = hostile[i % hostile.Count];
                var watch = Stopwatch.StartNew();
                var status = await request.Send();
                lock (answers)
                    answers.Add(new Answer(request.Name, request.Expected, status, watch.Elapsed.TotalMilliseconds, request.Bound));
                await SendGood(i % good.Count); // right after each hostile request
            }
        }, Token)).ToList();
        var goodClients = Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; !stop.IsCancellationRequested; i++)
                await SendGood(i % good.Count);
        }, Token)).ToList();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && service.IsRunning)
            {
                peakSampled = Math.Max(peakSampled, service.ResidentBytes());
                await Task.Delay(200, Token);
            }
        }, Token);
        await Task.WhenAll(hostileClients.Concat(goodClients).Append(sampling));
        var healthy = await client.GetAsync("/health", Token);
        var peak = service.PeakResidentBytes();

        goodLatencies.Sort();
        var report = new
        {
            seconds = Duration.TotalSeconds, clients = "6 hostile (each followed by a good image) and 2 good", scoringTurns = ScoringTurns,
            requests = answers.Count + goodLatencies.Count, hostileRequests = answers.Count, hostileKinds = hostile.Count, goodRequests = goodLatencies.Count,
            goodP50Milliseconds = Math.Round(Percentile(goodLatencies, 0.5), 1), goodP99Milliseconds = Math.Round(Percentile(goodLatencies, 0.99), 1),
            serverErrors = answers.Count(a => (int)a.Status >= 500), wrongAnswers = answers.Count(a => a.Status != a.Expected) + wrongGood.Count,
            peakResidentMegabytes = peak / 1_000_000, peakResidentBoundMegabytes = PeakResidentBound / 1_000_000,
            hostile = answers.GroupBy(a => a.Name).OrderBy(g => g.Key).Select(g => new
            {
                kind = g.Key, expected = (int)g.First().Expected, sent = g.Count(),
                statuses = string.Join(", ", g.GroupBy(a => (int)a.Status).Select(s => $"{s.Key} x{s.Count()}")),
                p50Milliseconds = Math.Round(Percentile(g.Select(a => a.Milliseconds).Order().ToList(), 0.5)), maxMilliseconds = Math.Round(g.Max(a => a.Milliseconds)),
            }),
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(FixturePaths.Artifacts("webservice"), "hostile-load.json"), json);
        TestContext.Current.TestOutputHelper?.WriteLine(json);

        Assert.True(service.IsRunning, "the service died");
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.Equal(hostile.Select(h => h.Name).Order(), answers.Select(a => a.Name).Distinct().Order()); // every kind was sent
        Assert.Empty(answers.Where(a => a.Status != a.Expected).Select(a => $"{a.Name}: {(int)a.Status} instead of {(int)a.Expected}"));
        Assert.Empty(answers.Where(a => a.Milliseconds > a.Bound.TotalMilliseconds).Select(a => $"{a.Name}: {a.Milliseconds:F0} ms, over {a.Bound.TotalSeconds} s"));
        Assert.Empty(wrongGood);
        Assert.True(goodLatencies.Count >= answers.Count, $"{goodLatencies.Count} good requests answered");
        Assert.True(peak < PeakResidentBound, $"peak resident memory {peak / 1_000_000} MB, over {PeakResidentBound / 1_000_000} MB");
    }

    [Fact]
    public async Task With_an_api_key_scoring_needs_it_and_health_says_only_ok_without_it()
    {
        using var keyed = new ServiceProcess(ServedModelPath(), MaxUploadBytes, "--ApiKey=s3cret-key");
        using var keyedClient = new HttpClient { BaseAddress = new Uri(keyed.Address) };
        async Task<HttpStatusCode> Predict(Action<HttpRequestHeaders> authenticate)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = Form(good[0]) };
            authenticate(request.Headers);
            using var response = await keyedClient.SendAsync(request, Token);
            return response.StatusCode;
        }

        var none = await Predict(_ => { });
        var wrong = await Predict(h => h.Add("X-API-Key", "s3cret-kez"));
        var header = await Predict(h => h.Add("X-API-Key", "s3cret-key"));
        var bearer = await Predict(h => h.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-key"));
        using var refused = await keyedClient.PostAsync("/explain", Form(good[0]), Token);
        var openHealth = JsonDocument.Parse(await keyedClient.GetStringAsync("/health", Token)).RootElement;
        var unkeyed = JsonDocument.Parse(await client.GetStringAsync("/health", Token)).RootElement;

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (none, wrong));
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (header, bearer));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("X-API-Key", JsonDocument.Parse(await refused.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("error").GetString());
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("ok", openHealth.GetProperty("status").GetString());
        Assert.False(openHealth.TryGetProperty("classes", out _)); // the model's details need the key
        Assert.True(unkeyed.TryGetProperty("classes", out _));     // off by default: everything open
    }

    string ServedModelPath() => folder.File("model.zip");

    List<Hostile> HostileRequests()
    {
        var quick = TimeSpan.FromSeconds(10); // answered from the header or the body's first bytes, under load on 2 cores
        var timed = TimeSpan.FromSeconds(RequestTimeoutSeconds + 10);
        var list = HostileImages.BombsOfEveryFormat()
            .Select(b => new Hostile($"bomb: {b.Format} declaring {b.Width}x{b.Height}", HttpStatusCode.UnprocessableEntity, quick, () => Post("/predict", Form(b.Bytes))))
            .ToList();
        var pngBomb = HostileImages.BombsOfEveryFormat()[0].Bytes;
        var jpeg = ReEncoded.Jpeg(good[^1]);
        var random = new byte[5000];
        new Random(3).NextBytes(random);
        list.AddRange(
        [
            new("bomb to /explain", HttpStatusCode.UnprocessableEntity, quick, () => Post("/explain", Form(pngBomb))),
            new("bomb as the body", HttpStatusCode.UnprocessableEntity, quick, () => Post("/predict", new ByteArrayContent(pngBomb))),
            new("truncated PNG", HttpStatusCode.BadRequest, quick, () => Post("/predict", Form(HostileImages.Truncated(good[^1])))),
            new("truncated JPEG", HttpStatusCode.BadRequest, quick, () => Post("/predict", Form(HostileImages.Truncated(jpeg)))),
            new("random bytes", HttpStatusCode.BadRequest, quick, () => Post("/predict", Form(random))),
            new("empty body", HttpStatusCode.BadRequest, quick, () => Post("/predict", new ByteArrayContent([]))),
            new("JSON instead of an image", HttpStatusCode.BadRequest, quick, () => Post("/predict", new StringContent("{\"image\": \"cat.png\"}", Encoding.UTF8, "application/json"))),
            new("URL-encoded form", HttpStatusCode.BadRequest, quick, () => Post("/predict", new FormUrlEncodedContent([new("image", "cat.png")]))),
            new("multipart without a boundary", HttpStatusCode.BadRequest, quick, () => Post("/predict", Typed(good[0], "multipart/form-data"))),
            new("multipart cut off", HttpStatusCode.BadRequest, quick, () => Post("/predict",
                Typed("--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nPNG"u8.ToArray(), "multipart/form-data; boundary=xyz"))),
            new("oversized with a length", HttpStatusCode.RequestEntityTooLarge, quick, () => Post("/predict", Form(new byte[3 * MaxUploadBytes]))),
            new("oversized without a length", HttpStatusCode.RequestEntityTooLarge, quick, () => Post("/predict", new UnknownLengthContent(new byte[3 * MaxUploadBytes]))),
            new("oversized, all sent before reading", HttpStatusCode.RequestEntityTooLarge, quick, () => Raw(Headers(2_000_000, "image/png"), bodyBytes: 2_000_000, bytesPerSecond: null, readWhileSending: false)),
            new("slow sender (1 byte a second)", HttpStatusCode.RequestTimeout, timed, () => Raw(Headers(10_000, "image/png"), bodyBytes: 10_000, bytesPerSecond: 1, readWhileSending: true)),
            new("slow sender (500 bytes a second)", HttpStatusCode.RequestTimeout, timed, () => Raw(Headers(150_000, "image/png"), bodyBytes: 150_000, bytesPerSecond: 500, readWhileSending: true)),
            new("headers never finished", HttpStatusCode.RequestTimeout, TimeSpan.FromSeconds(HeadersTimeoutSeconds + 10),
                () => Raw("POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n", bodyBytes: 0, bytesPerSecond: null, readWhileSending: true)),
        ]);
        return list;
    }

    async Task<HttpStatusCode> Post(string path, HttpContent content)
    {
        try
        {
            using var response = await client.PostAsync(path, content, Token);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0; // the connection was reset: no status reached the client (a failure)
        }
    }

    // The scores the service gives an image, or null when it answers anything but 200.
    async Task<float[]?> Scores(byte[] image)
    {
        using var response = await client.PostAsync("/predict?top=100", Form(image), Token);
        if (response.StatusCode != HttpStatusCode.OK)
            return null;
        var predictions = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("predictions");
        return predictions.EnumerateArray().OrderBy(p => p.GetProperty("label").GetString(), StringComparer.Ordinal)
            .Select(p => p.GetProperty("probability").GetSingle()).ToArray();
    }

    static string Headers(long contentLength, string contentType) =>
        $"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: {contentType}\r\nContent-Length: {contentLength}\r\n\r\n";

    /// <summary>
    /// A request written on a raw socket: the headers, then <paramref name="bodyBytes"/> zero bytes at
    /// <paramref name="bytesPerSecond"/> (null: as fast as possible); the status of the answer, read while sending (as
    /// browsers and curl do) or only after everything was sent (as Python's http.client does), or 0 when none came.
    /// </summary>
    async Task<HttpStatusCode> Raw(string headers, int bodyBytes, int? bytesPerSecond, bool readWhileSending)
    {
        var address = new Uri(service.Address);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, Token);
        var stream = tcp.GetStream();
        using var answered = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), answered.Token);
                if (bytesPerSecond is { } rate)
                {
                    var piece = new byte[Math.Max(1, rate / 10)];
                    for (var sent = 0; sent < bodyBytes && !answered.IsCancellationRequested; sent += piece.Length)
                    {
                        await stream.WriteAsync(piece, answered.Token);
                        await Task.Delay(piece.Length * 1000 / rate, answered.Token);
                    }
                }
                else if (bodyBytes > 0)
                {
                    await stream.WriteAsync(new byte[bodyBytes], answered.Token);
                }
                return true;
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                return false; // the server closed the connection (or answered) while this was sending
            }
        }, Token);
        if (!readWhileSending && !await sending)
            return 0; // a reset while sending: a client that reads only afterwards never sees a status
        var buffer = new byte[256];
        var read = 0;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            while (read < buffer.Length && Array.IndexOf(buffer, (byte)'\n', 0, read) < 0)
            {
                var count = await stream.ReadAsync(buffer.AsMemory(read), bound.Token);
                if (count == 0)
                    break;
                read += count;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }
        await answered.CancelAsync();
        await sending;
        var line = Encoding.ASCII.GetString(buffer, 0, read); // "HTTP/1.1 408 Request Timeout"
        return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9, 3), out var status) ? (HttpStatusCode)status : 0;
    }

    static MultipartFormDataContent Form(byte[] bytes)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "upload.png");
        return form;
    }

    static ByteArrayContent Typed(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    static double Percentile(IReadOnlyList<double> sorted, double fraction) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * fraction))];
}

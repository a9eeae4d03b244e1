// A web service for a model zip, as Model Builder's consumption project: load once, pool the engines, reload when the
// file changes, and answer uploads with the top classes (and a Grad-CAM overlay). Configuration (ServiceSettings):
// --Model=path.zip (or EFFICIENTNET_MODEL), --MaxUploadBytes=10000000, --MaxImagePixels=25000000,
// --MaxConcurrentScoring=<cores>, --MaxConcurrentUploads=32, --MaxQueuedRequests=64, --RequestTimeoutSeconds=30, --ApiKey=<off>
// (or EFFICIENTNET_API_KEY), --urls=http://127.0.0.1:5000.
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.WebService;

var builder = WebApplication.CreateBuilder(args);
var settings = ServiceSettings.From(builder.Configuration);
var maxBytes = settings.MaxUploadBytes;
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // The upload check answers 413 past MaxUploadBytes; Kestrel reads (and throws away) the rest of a body up to this, so
    // that a client that sends its whole body first still reads the 413, and cuts off anything larger.
    kestrel.Limits.MaxRequestBodySize = Math.Max(settings.MaxDrainedBytes, maxBytes + Upload.FormOverhead);
    kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(settings.HeadersTimeoutSeconds);
    kestrel.Limits.MaxConcurrentConnections = settings.MaxConnections;
    kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
});
// Decoded pixels, checked from each upload's header before decoding (a 2 KB JPEG can declare 65000 x 65000).
ImageLimits.MaxPixels = settings.MaxImagePixels;
// Two bounds, both ASP.NET Core's own limiters (System.Threading.RateLimiting): at most MaxConcurrentUploads requests are
// admitted (reading their bodies, waiting, scoring), MaxQueuedRequests more wait with their bodies unread and the rest get
// 503 with Retry-After; of the admitted, at most MaxConcurrentScoring decode and score at once. A slow sender holds an
// admission, never a scoring turn, and memory is bounded by both.
var admitted = settings.MaxConcurrentUploads;
var queued = settings.MaxQueuedRequests;
builder.Services.AddRateLimiter(limits =>
{
    limits.AddConcurrencyLimiter("uploads", limiter =>
    {
        limiter.PermitLimit = admitted;
        limiter.QueueLimit = queued;
        limiter.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
    });
    limits.OnRejected = async (context, cancel) =>
    {
        context.HttpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.HttpContext.Response.Headers.RetryAfter = "1";
        await context.HttpContext.Response.WriteAsJsonAsync(new { error = $"The service has {admitted} requests in hand and {queued} waiting: try again in a second." }, cancel);
    };
});
using var scoringTurns = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
{
    PermitLimit = settings.ConcurrentScoring, QueueLimit = admitted, QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
});
// Every request has a deadline, from its first byte to its answer (a slow sender, a long wait for a turn): 408 after it.
builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
{
    Timeout = TimeSpan.FromSeconds(settings.RequestTimeoutSeconds),
    TimeoutStatusCode = StatusCodes.Status408RequestTimeout,
    WriteTimeoutResponse = context => context.Response.WriteAsJsonAsync(new { error = $"The request took longer than {settings.RequestTimeoutSeconds} s (RequestTimeoutSeconds): send the image at a steady rate, or try again." }),
});
builder.Services.AddSingleton(services => new ModelHolder(settings.Model, services.GetRequiredService<ILogger<ModelHolder>>()));
var app = builder.Build();
app.UseRequestTimeouts();
app.UseApiKey(settings.ApiKey, "/predict", "/explain");
app.UseRateLimiter();
var holder = app.Services.GetRequiredService<ModelHolder>(); // loaded now: a bad model stops the start, not the first request

app.MapGet("/", (HttpResponse response) =>
{
    response.Headers.ContentSecurityPolicy = Page.ContentSecurityPolicy;
    response.Headers.XContentTypeOptions = "nosniff";
    return Results.Content(Page.Html, "text/html; charset=utf-8");
});

app.MapGet("/health", (HttpRequest request) =>
{
    if (!ApiKeyCheck.Allows(request, settings.ApiKey))
        return Results.Ok(new { status = "ok" }); // enough for a load balancer; the rest needs the key
    var model = holder.Acquire();
    try
    {
        return Results.Ok(new
        {
            // What an operator needs, nothing an attacker wants: the file's name, not where it lives.
            status = "ok", model = Path.GetFileName(model.Path), version = model.Version, loadedAt = model.LoadedAt, network = model.Classifier.Version,
            classes = model.Classifier.ClassNames, task = model.Classifier.Task.ToString(), thresholds = model.Classifier.Thresholds, engine = model.Classifier.ScoringEngineInUse.ToString(), preprocessing = model.Preprocessing, lastReloadError = holder.LastReloadError?.Replace(Path.GetFullPath(model.Path), Path.GetFileName(model.Path)),
        });
    }
    finally
    {
        model.Release();
    }
});

app.MapPost("/predict", async (HttpRequest request, int? top) =>
{
    var (image, problem) = await Upload.ReadAsync(request, maxBytes);
    if (problem is not null)
        return problem;
    using var turn = await scoringTurns.AcquireAsync(1, request.HttpContext.RequestAborted);
    if (!turn.IsAcquired)
        return Busy();
    var model = holder.Acquire();
    try
    {
        var scores = model.Score(image!);
        var count = top is > 0 ? Math.Min(top.Value, scores.Length) : Math.Min(3, scores.Length);
        // Multi-label: the labels over their thresholds (possibly none), as every door decides them.
        return Results.Ok(new
        {
            modelVersion = model.Version,
            labels = model.Classifier.Task == TaskKind.MultiLabel ? model.Classifier.PredictedLabels(scores) : null,
            predictions = scores.Select((probability, index) => new { label = model.Classifier.ClassNames[index], probability })
                .OrderByDescending(p => p.probability).Take(count),
        });
    }
    catch (DataRowException e)
    {
        return Results.BadRequest(new { error = $"The upload could not be read as an image: {e.Message}" });
    }
    finally
    {
        model.Release();
    }
}).RequireRateLimiting("uploads");

app.MapPost("/explain", async (HttpRequest request, string? @class) =>
{
    var (image, problem) = await Upload.ReadAsync(request, maxBytes);
    if (problem is not null)
        return problem;
    using var turn = await scoringTurns.AcquireAsync(1, request.HttpContext.RequestAborted);
    if (!turn.IsAcquired)
        return Busy();
    var model = holder.Acquire();
    try
    {
        using var explanation = model.Explain(image!, @class); // on what scoring sees: the saved chain's crop or pad
        // What was explained, for clients that want it beside the picture.
        request.HttpContext.Response.Headers["X-Explained-Class"] = Uri.EscapeDataString(explanation.ClassName);
        request.HttpContext.Response.Headers["X-Explained-Probability"] = explanation.Probability.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        request.HttpContext.Response.Headers["X-Predicted-Class"] = Uri.EscapeDataString(explanation.PredictedClassName);
        return Results.File(explanation.OverlayPng(image!), "image/png");
    }
    catch (ArgumentException e)
    {
        return Results.BadRequest(new { error = e.Message });
    }
    finally
    {
        model.Release();
    }
}).RequireRateLimiting("uploads");

IResult Busy() => Results.Json(new { error = "The service is busy: try again in a second." }, statusCode: StatusCodes.Status503ServiceUnavailable);

// The container disposes the holder (and so the model) when the host stops.
app.Run();

/// <summary>The entry point, named for tests.</summary>
public partial class Program;

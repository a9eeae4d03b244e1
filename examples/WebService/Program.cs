// A web service for a model zip, as Model Builder's consumption project: load once, pool the engines, reload when the
// file changes, and answer uploads with the top classes (and a Grad-CAM overlay). Configuration: --Model=path.zip
// (or EFFICIENTNET_MODEL), --MaxUploadBytes=10000000, --MaxImagePixels=25000000, --MaxConcurrentScoring=<cores>,
// --MaxQueuedScoring=<16 x that>, --urls=http://127.0.0.1:5000.
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.WebService;

var builder = WebApplication.CreateBuilder(args);
var modelPath = builder.Configuration["Model"] ?? Environment.GetEnvironmentVariable("EFFICIENTNET_MODEL") ?? "model.zip";
var maxBytes = builder.Configuration.GetValue<long?>("MaxUploadBytes") ?? 10_000_000;
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBytes + 64 * 1024);
// Decoded pixels, checked from each upload's header before decoding (a 2 KB JPEG can declare 65000 x 65000).
ImageLimits.MaxPixels = builder.Configuration.GetValue<long?>("MaxImagePixels") ?? 25_000_000;
// At most this many uploads are read, decoded and scored at once (memory stays bounded); a queue of requests whose bodies
// are not read yet waits its turn, and the rest get 503 with Retry-After: ASP.NET Core's own concurrency limiter.
var concurrent = builder.Configuration.GetValue<int?>("MaxConcurrentScoring") ?? Environment.ProcessorCount;
var queued = builder.Configuration.GetValue<int?>("MaxQueuedScoring") ?? 16 * concurrent;
builder.Services.AddRateLimiter(limits =>
{
    limits.AddConcurrencyLimiter("scoring", limiter =>
    {
        limiter.PermitLimit = concurrent;
        limiter.QueueLimit = queued;
        limiter.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
    });
    limits.OnRejected = async (context, cancel) =>
    {
        context.HttpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.HttpContext.Response.Headers.RetryAfter = "1";
        await context.HttpContext.Response.WriteAsJsonAsync(new { error = $"The service is scoring {concurrent} images and has {queued} waiting: try again in a second." }, cancel);
    };
});
builder.Services.AddSingleton(services => new ModelHolder(modelPath, services.GetRequiredService<ILogger<ModelHolder>>()));
var app = builder.Build();
app.UseRateLimiter();
var holder = app.Services.GetRequiredService<ModelHolder>(); // loaded now: a bad model stops the start, not the first request

app.MapGet("/", (HttpResponse response) =>
{
    response.Headers.ContentSecurityPolicy = Page.ContentSecurityPolicy;
    response.Headers.XContentTypeOptions = "nosniff";
    return Results.Content(Page.Html, "text/html; charset=utf-8");
});

app.MapGet("/health", () =>
{
    var model = holder.Acquire();
    try
    {
        return Results.Ok(new
        {
            // What an operator needs, nothing an attacker wants: the file's name, not where it lives.
            status = "ok", model = Path.GetFileName(model.Path), version = model.Version, loadedAt = model.LoadedAt, network = model.Classifier.Version,
            classes = model.Classifier.ClassNames, engine = model.Classifier.ScoringEngineInUse.ToString(), preprocessing = model.Preprocessing, lastReloadError = holder.LastReloadError?.Replace(Path.GetFullPath(model.Path), Path.GetFileName(model.Path)),
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
    var model = holder.Acquire();
    try
    {
        var scores = model.Score(image!);
        var count = top is > 0 ? Math.Min(top.Value, scores.Length) : Math.Min(3, scores.Length);
        return Results.Ok(new
        {
            modelVersion = model.Version,
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
}).RequireRateLimiting("scoring");

app.MapPost("/explain", async (HttpRequest request, string? @class) =>
{
    var (image, problem) = await Upload.ReadAsync(request, maxBytes);
    if (problem is not null)
        return problem;
    var model = holder.Acquire();
    try
    {
        using var explanation = model.Classifier.Explain(image!, @class);
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
}).RequireRateLimiting("scoring");

// The container disposes the holder (and so the model) when the host stops.
app.Run();

/// <summary>The entry point, named for tests.</summary>
public partial class Program;

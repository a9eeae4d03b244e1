// A web service for a model zip, as Model Builder's consumption project: load once, pool the engines, reload when the
// file changes, and answer uploads with the top classes (and a Grad-CAM overlay). Configuration: --Model=path.zip
// (or EFFICIENTNET_MODEL), --MaxUploadBytes=10000000, --urls=http://127.0.0.1:5000.
using EfficientNet.MLNet;
using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.WebService;

var builder = WebApplication.CreateBuilder(args);
var modelPath = builder.Configuration["Model"] ?? Environment.GetEnvironmentVariable("EFFICIENTNET_MODEL") ?? "model.zip";
var maxBytes = builder.Configuration.GetValue<long?>("MaxUploadBytes") ?? 10_000_000;
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBytes + 64 * 1024);
builder.Services.AddSingleton(services => new ModelHolder(modelPath, services.GetRequiredService<ILogger<ModelHolder>>()));
var app = builder.Build();
var holder = app.Services.GetRequiredService<ModelHolder>(); // loaded now: a bad model stops the start, not the first request

app.MapGet("/", () => Results.Content(Page.Html, "text/html; charset=utf-8"));

app.MapGet("/health", () =>
{
    var model = holder.Acquire();
    try
    {
        return Results.Ok(new
        {
            status = "ok", model = model.Path, version = model.Version, loadedAt = model.LoadedAt, network = model.Classifier.Version,
            classes = model.Classifier.ClassNames, engine = model.Classifier.ScoringEngineInUse.ToString(), lastReloadError = holder.LastReloadError,
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
});

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
});

// The container disposes the holder (and so the model) when the host stops.
app.Run();

/// <summary>The entry point, named for tests.</summary>
public partial class Program;

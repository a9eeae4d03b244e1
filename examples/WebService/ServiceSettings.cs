namespace EfficientNet.MLNet.WebService;

/// <summary>
/// What an operator sets, as plain data read from configuration (command line <c>--Name=value</c>, environment
/// variables, appsettings.json). Every limit has a default meant for a service on the public internet.
/// </summary>
public sealed record ServiceSettings
{
    /// <summary>The model zip to serve (also EFFICIENTNET_MODEL).</summary>
    public string Model { get; init; } = "model.zip";

    /// <summary>The largest image file accepted, in bytes; larger uploads get 413.</summary>
    public long MaxUploadBytes { get; init; } = 10_000_000;

    /// <summary>
    /// How much of a too-large body is still read and thrown away so that a client that sends its whole body before it
    /// reads the answer (Python's http.client, many scripts) sees the 413 instead of a reset connection. A body beyond
    /// this is cut off at once (clients that read while they send, as curl, browsers and HttpClient do, still see the 413).
    /// </summary>
    public long MaxDrainedBytes { get; init; } = 64_000_000;

    /// <summary>Decoded pixels an upload's header may declare (ImageLimits.MaxPixels for the process); more gets 422.</summary>
    public long MaxImagePixels { get; init; } = 25_000_000;

    /// <summary>Uploads decoded and scored at once (the core count by default); the others wait with their bodies read.</summary>
    public int? MaxConcurrentScoring { get; init; }

    /// <summary>
    /// Requests admitted at once: their bodies being read, waiting for a scoring turn or being scored (32 by default). A
    /// slow sender holds one of these, never a scoring turn. Memory for bodies is at most this times MaxUploadBytes.
    /// </summary>
    public int MaxConcurrentUploads { get; init; } = 32;

    /// <summary>Requests that wait for admission with their bodies unread (64 by default); more get 503 with Retry-After.</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>
    /// The longest a request may take, from its first byte to its answer (reading the body, waiting for a turn and scoring):
    /// after it the answer is 408 with a JSON reason (ASP.NET Core's request timeouts).
    /// </summary>
    public double RequestTimeoutSeconds { get; init; } = 30;

    /// <summary>The longest a client may take to send its request headers (Kestrel's RequestHeadersTimeout).</summary>
    public double HeadersTimeoutSeconds { get; init; } = 10;

    /// <summary>Connections open at once (Kestrel's MaxConcurrentConnections); more are refused.</summary>
    public long MaxConnections { get; init; } = 1000;

    /// <summary>
    /// When set (also EFFICIENTNET_API_KEY), /predict and /explain need it in the header <c>X-API-Key</c> or as
    /// <c>Authorization: Bearer</c>, and /health says only "ok" without it; off (null) by default.
    /// </summary>
    public string? ApiKey { get; init; }

    public int ConcurrentScoring => MaxConcurrentScoring ?? Environment.ProcessorCount;

    /// <summary>The settings from configuration, the model path and API key also from their environment variables.</summary>
    public static ServiceSettings From(IConfiguration configuration)
    {
        var settings = configuration.Get<ServiceSettings>() ?? new ServiceSettings();
        return settings with
        {
            Model = configuration["Model"] ?? Environment.GetEnvironmentVariable("EFFICIENTNET_MODEL") ?? settings.Model,
            ApiKey = NullIfEmpty(configuration["ApiKey"] ?? Environment.GetEnvironmentVariable("EFFICIENTNET_API_KEY")),
        };
    }

    static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

using System.Security.Cryptography;
using System.Text;

namespace EfficientNet.MLNet.WebService;

/// <summary>
/// The optional API key: when the service has one, a request to a scoring path must carry it (<c>X-API-Key: key</c> or
/// <c>Authorization: Bearer key</c>), compared in constant time; otherwise 401 with a JSON reason, before the request
/// takes a scoring turn or its body is read.
/// </summary>
public static class ApiKeyCheck
{
    /// <summary>Whether the request carries the key (always true when the service has none).</summary>
    public static bool Allows(HttpRequest request, string? apiKey)
    {
        if (apiKey is null)
            return true;
        string? given = request.Headers["X-API-Key"];
        var authorization = request.Headers.Authorization.ToString();
        if (given is null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            given = authorization["Bearer ".Length..].Trim();
        return given is not null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));
    }

    /// <summary>Answers 401 to requests for <paramref name="paths"/> without the key; other paths pass.</summary>
    public static IApplicationBuilder UseApiKey(this IApplicationBuilder app, string? apiKey, params string[] paths) =>
        app.Use(async (context, next) =>
        {
            if (apiKey is not null && paths.Any(p => context.Request.Path.StartsWithSegments(p)) && !Allows(context.Request, apiKey))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsJsonAsync(new { error = "This service needs its API key: send it in the header X-API-Key (or Authorization: Bearer <key>)." });
                return;
            }
            await next(context);
        });
}

using Microsoft.ML;

namespace EfficientNet.MLNet.MLNetInternals;

/// <summary>
/// Turns the runtime's errors for an ML.NET internal member that is gone or changed (the library compiles against
/// ML.NET 5.0.1's internals and runs on 5.0.1 to 6.x, where each member it uses was checked) into an error that
/// says which member, which ML.NET release is loaded, and what to do. Every use of an internal goes through here.
/// </summary>
internal static class MLNetInternalsGuard
{
    /// <summary>The loaded Microsoft.ML release, as its assembly reports it.</summary>
    public static string LoadedRelease =>
        // ML.NET's assembly version is 1.0.0.0 in every release; the informational version names the package ("6.0.0+sha").
        typeof(MLContext).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>Runs <paramref name="use"/>, which touches ML.NET's <paramref name="what"/>.</summary>
    public static T Use<T>(string what, Func<T> use)
    {
        try
        {
            return use();
        }
        catch (Exception e) when (e is MissingMemberException or TypeLoadException or MethodAccessException or FieldAccessException && IsMLNets(e))
        {
            throw Moved(what, e);
        }
    }

    /// <summary>Runs <paramref name="use"/>, which touches ML.NET's <paramref name="what"/>.</summary>
    public static void Use(string what, Action use) => Use(what, () =>
    {
        use();
        return 0;
    });

    // Another library's missing member (SkiaSharp's, ONNX Runtime's) is not ML.NET's: it goes on as it is.
    static bool IsMLNets(Exception e) =>
        e.Message.Contains("Microsoft.ML", StringComparison.Ordinal) && !e.Message.Contains("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal);

    internal static EfficientNetException Moved(string what, Exception cause) => new(
        $"EfficientNet.MLNet needs ML.NET's {what}, which the loaded Microsoft.ML ({LoadedRelease}) does not have as 5.0.1 to 6.x had it " +
        $"({cause.GetType().Name}: {cause.Message}). Use Microsoft.ML 5.0.1 to 6.x, or an EfficientNet.MLNet release that supports this one.", cause);
}

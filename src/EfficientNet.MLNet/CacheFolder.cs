namespace EfficientNet.MLNet;

/// <summary>
/// Where the library keeps files of its own between runs: the OS's per-user cache folder + "efficientnet-mlnet"
/// ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows), or the folder the
/// EFFICIENTNET_CACHE environment variable names.
/// </summary>
internal static class CacheFolder
{
    /// <summary>The environment variable that overrides the folder.</summary>
    public const string Variable = "EFFICIENTNET_CACHE";

    /// <summary>The cache folder (not created here).</summary>
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } chosen)
                return Path.GetFullPath(chosen);
            string perUser;
            if (OperatingSystem.IsWindows())
                perUser = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            else if (OperatingSystem.IsMacOS())
                perUser = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "Library", "Caches");
            else
                perUser = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                    ? xdg
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(perUser, "efficientnet-mlnet");
        }
    }
}

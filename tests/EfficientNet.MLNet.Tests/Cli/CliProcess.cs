using System.Diagnostics;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary>The built 'efficientnet' command run in a child process (to kill it, or to run it as another user).</summary>
internal static class CliProcess
{
    /// <summary>
    /// Starts the command. <paramref name="unprivileged"/>: when this process is root (which reads everything), the
    /// child runs as 'nobody' through util-linux's setpriv, so file permissions apply to it. <paramref name="environment"/>:
    /// variables set for the child (LD_PRELOAD, say).
    /// </summary>
    public static Process Start(IEnumerable<string> arguments, bool unprivileged = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var asNobody = unprivileged && Environment.UserName == "root";
        var start = new ProcessStartInfo(asNobody ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asNobody)
        {
            foreach (var argument in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" })
                start.ArgumentList.Add(argument);
            start.Environment["HOME"] = Path.GetTempPath();
            start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        start.ArgumentList.Add(FixturePaths.Metadata("Cli"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    /// <summary>Runs the command to its end: its exit code and everything it printed.</summary>
    public static (int Exit, string Output) Run(IEnumerable<string> arguments, bool unprivileged = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(arguments, unprivileged, environment);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }
}

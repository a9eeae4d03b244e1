using System.Diagnostics;
using System.Text.Json.Nodes;

/// <summary>Runs one measurement in a process of its own and reads the JSON line it prints last.</summary>
internal static class MeasurementProcess
{
    /// <summary>This benchmark's own program (its apphost, or the dotnet host that runs its assembly).</summary>
    public static string Self => Environment.ProcessPath!;

    /// <summary>Starts <paramref name="program"/> with <paramref name="environment"/> added; throws with its error output if it fails.</summary>
    public static JsonNode Run(string program, string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        // This benchmark started as 'dotnet EfficientNet.MLNet.Benchmarks.dll': the host runs the same assembly again.
        if (program == Self && Path.GetFileNameWithoutExtension(program) == "dotnet")
            arguments = [typeof(MeasurementProcess).Assembly.Location, .. arguments];
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} {string.Join(' ', environment.Select(v => $"{v.Key}={v.Value}"))} failed ({process.ExitCode}): {error.Result}");
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }
}

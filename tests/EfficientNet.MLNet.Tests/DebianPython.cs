using System.Diagnostics;

namespace EfficientNet.MLNet.Tests;

/// <summary>Debian's /usr/bin/python3 (with its python3-torch, -torchvision and -sklearn): a test reference, never a dependency.</summary>
internal static class DebianPython
{
    /// <summary>Writes <paramref name="source"/> to <paramref name="script"/>, runs it with <paramref name="arguments"/>, and returns what it printed; asserts it succeeded.</summary>
    public static string Run(string script, string source, params string[] arguments)
    {
        File.WriteAllText(script, source);
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{script} failed: {error.Result}");
        return output;
    }
}

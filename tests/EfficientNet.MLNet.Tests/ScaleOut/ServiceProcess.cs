using System.Diagnostics;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>examples/WebService started as its own process on a free loopback port, killed when disposed.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process process;

    /// <param name="model">The zip to serve.</param>
    /// <param name="maxUploadBytes">--MaxUploadBytes.</param>
    /// <param name="settings">More settings, as "--Name=value".</param>
    public ServiceProcess(string model, long maxUploadBytes, params string[] settings)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { FixturePaths.Metadata("WebService"), $"--Model={model}", "--urls=http://127.0.0.1:0", $"--MaxUploadBytes={maxUploadBytes}" }.Concat(settings))
            start.ArgumentList.Add(argument);
        process = Process.Start(start)!;
        Address = ListeningAddress(process);
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:40123.</summary>
    public string Address { get; }

    public int Id => process.Id;

    /// <summary>Its resident memory (VmRSS), in bytes.</summary>
    public long ResidentBytes() => Status("VmRSS:");

    /// <summary>The most resident memory it has had so far (VmHWM, the kernel's high-water mark), in bytes.</summary>
    public long PeakResidentBytes() => Status("VmHWM:");

    /// <summary>Whether it is still running (a crash ends it).</summary>
    public bool IsRunning => !process.HasExited;

    long Status(string field)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    // Reads the service's log until Kestrel says where it listens.
    static string ListeningAddress(Process process)
    {
        var log = new List<string>();
        var reading = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                log.Add(line);
                var at = line.IndexOf("Now listening on: ", StringComparison.Ordinal);
                if (at >= 0)
                    return line[(at + "Now listening on: ".Length)..].Trim();
            }
            return null;
        });
        if (!reading.Wait(TimeSpan.FromSeconds(60)) || reading.Result is not { } address)
            throw new InvalidOperationException("The service did not start: " + string.Join("\n", log) + process.StandardError.ReadToEnd());
        // Keep draining the log so that the service never blocks on a full pipe.
        _ = Task.Run(() => { while (process.StandardOutput.ReadLine() is not null) { } });
        _ = Task.Run(() => { while (process.StandardError.ReadLine() is not null) { } });
        return address;
    }

    public void Dispose()
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit();
        process.Dispose();
    }
}

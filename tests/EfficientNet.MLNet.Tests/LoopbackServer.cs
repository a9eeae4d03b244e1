using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace EfficientNet.MLNet.Tests;

/// <summary>
/// An HTTP server on 127.0.0.1 for download tests (no outside network exists here): it serves files by path,
/// honours Range requests, and can misbehave on purpose (cut a response half way, never answer, 404).
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentDictionary<string, byte[]> files = new();
    private readonly Task loop;

    public LoopbackServer()
    {
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(BaseUrl);
        listener.Start();
        loop = Task.Run(Serve);
    }

    public string BaseUrl { get; }

    /// <summary>Requests received, with their Range header (or null).</summary>
    public ConcurrentQueue<(string Path, string? Range)> Requests { get; } = new();

    /// <summary>Cut the next this-many responses after half of their body.</summary>
    public int CutNext { get; set; }

    /// <summary>Answer nothing (hold every request open).</summary>
    public bool Silent { get; set; }

    /// <summary>Wait this long before each answer (to let concurrent clients overlap).</summary>
    public TimeSpan Delay { get; set; }

    public string Serve(string path, byte[] content)
    {
        files[path] = content;
        return BaseUrl + path;
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Answer(context));
        }
    }

    async Task Answer(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath.TrimStart('/');
        var range = context.Request.Headers["Range"];
        Requests.Enqueue((path, range));
        if (Silent)
            return; // never answered: the client must give up on its own
        if (Delay > TimeSpan.Zero)
            await Task.Delay(Delay);
        var response = context.Response;
        try
        {
            if (!files.TryGetValue(path, out var content))
            {
                response.StatusCode = 404;
                response.Close();
                return;
            }
            var start = 0L;
            if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                start = long.Parse(range["bytes=".Length..].TrimEnd('-'));
                if (start >= content.Length)
                {
                    response.StatusCode = 416;
                    response.Close();
                    return;
                }
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }
            var length = content.Length - start;
            response.ContentLength64 = length;
            if (CutNext > 0)
            {
                CutNext--;
                await response.OutputStream.WriteAsync(content.AsMemory((int)start, (int)(length / 2)));
                await response.OutputStream.FlushAsync();
                response.Abort(); // the connection drops half way
                return;
            }
            await response.OutputStream.WriteAsync(content.AsMemory((int)start, (int)length));
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
        }
    }

    public void Dispose()
    {
        listener.Close();
        try { loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}

using System.Net;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>A request body sent in chunks, with no Content-Length: a service cannot refuse it before reading it.</summary>
internal sealed class UnknownLengthContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

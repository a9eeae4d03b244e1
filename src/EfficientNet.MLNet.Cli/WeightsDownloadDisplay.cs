using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Cli;

/// <summary>Download progress for the terminal: a line every tenth of the file (it works the same when redirected).</summary>
internal static class WeightsDownloadDisplay
{
    public static Action<WeightsDownloadProgress> Lines(TextWriter output) => WeightsResolver.InTenths(output.WriteLine);
}

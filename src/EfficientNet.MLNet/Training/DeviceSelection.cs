using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>Chooses the TorchSharp device from the option and the MLContext, as Microsoft.ML.TorchSharp does.</summary>
internal static class DeviceSelection
{
    /// <summary>Checks the syntax: "auto", "cpu", "cuda" or "cuda:N".</summary>
    public static void Parse(string device)
    {
        var d = (device ?? "").Trim().ToLowerInvariant();
        if (d is "auto" or "cpu" or "cuda" || (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d[5..], out var n) && n >= 0))
            return;
        throw new ArgumentException($"EfficientNetTrainer.Options.Device must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"; got \"{device}\".", nameof(device));
    }

    /// <summary>The device to train and score on.</summary>
    /// <param name="option">The Device option.</param>
    /// <param name="gpuDeviceId">MLContext.GpuDeviceId.</param>
    /// <param name="fallbackToCpu">MLContext.FallbackToCpu: use the CPU instead of failing when CUDA is asked for but absent.</param>
    /// <param name="warn">Told when falling back.</param>
    public static Device Choose(string option, int? gpuDeviceId, bool fallbackToCpu, Action<string> warn)
    {
        var d = option.Trim().ToLowerInvariant();
        if (d == "cpu")
            return CPU;
        if (d == "auto" && gpuDeviceId is null)
            return cuda.is_available() ? CUDA : CPU;
        var index = d.StartsWith("cuda:", StringComparison.Ordinal) ? int.Parse(d[5..]) : gpuDeviceId ?? 0;
        if (cuda.is_available() && index < cuda.device_count())
            return new Device(DeviceType.CUDA, index);
        var problem = cuda.is_available()
            ? $"CUDA device {index} was asked for, but TorchSharp sees {cuda.device_count()} device(s)"
            : "CUDA was asked for, but TorchSharp sees no CUDA device (reference TorchSharp-cuda-linux or TorchSharp-cuda-windows, build with -p:TorchBackend=cuda-linux, and check the driver)";
        if (!fallbackToCpu)
            throw new EfficientNetException($"{problem}. Use Device = \"cpu\", or set MLContext.FallbackToCpu = true to fall back.");
        warn($"{problem}; falling back to the CPU (MLContext.FallbackToCpu is true).");
        return CPU;
    }
}

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
    /// <exception cref="EfficientNetException">libtorch cannot be loaded (the application references no TorchSharp
    /// backend), or CUDA is asked for and absent without fallback.</exception>
    public static Device Choose(string option, int? gpuDeviceId, bool fallbackToCpu, Action<string> warn)
    {
        // The first use of TorchSharp's static torch class loads libtorch: an application without a backend fails here.
        try
        {
            return ChooseDevice(option, gpuDeviceId, fallbackToCpu, warn);
        }
        catch (TypeInitializationException e) when (e.TypeName?.StartsWith("TorchSharp", StringComparison.Ordinal) == true)
        {
            var cause = e.InnerException ?? e;
            while (cause is TypeInitializationException { InnerException: { } inner })
                cause = inner;
            throw new EfficientNetException(
                $"libtorch cannot be loaded ({cause.GetType().Name}: {cause.Message.Split('\n')[0]}). Training, scoring with ScoringEngine.TorchSharp "
                + "and EfficientNetTransformer.Model need a TorchSharp backend in the application: libtorch-cpu-linux-x64 2.10.0 (or libtorch-cpu-win-x64, "
                + "libtorch-cpu-osx-arm64, TorchSharp-cuda-linux or TorchSharp-cuda-windows 0.107.0). Scoring with ONNX Runtime needs none.", e);
        }
    }

    static Device ChooseDevice(string option, int? gpuDeviceId, bool fallbackToCpu, Action<string> warn)
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

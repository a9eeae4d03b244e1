using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EfficientNet.MLNet.Onnx;

/// <summary>
/// Scores images with ONNX Runtime on the model's own ONNX export (normalization inside, batch norms folded): what
/// <see cref="ScoringEngine.OnnxRuntime"/> runs. Safe from several threads at once; disposing waits for the runs in
/// flight, and later runs throw <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class OnnxScoring : IDisposable
{
    static readonly Lazy<string?> WhyUnavailable = new(() =>
    {
        try
        {
            using var options = new SessionOptions();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or OnnxRuntimeException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    });

    private readonly InferenceSession session;
    private readonly ReaderWriterLockSlim usage = new(LockRecursionPolicy.NoRecursion);
    private bool disposed;

    private OnnxScoring(InferenceSession session) => this.session = session;

    /// <summary>Whether ONNX Runtime's native library can be loaded (the application references Microsoft.ML.OnnxRuntime or .Gpu).</summary>
    public static bool IsAvailable => WhyUnavailable.Value is null;

    /// <summary>Why ONNX Runtime cannot be used, or null.</summary>
    public static string? Unavailability => WhyUnavailable.Value;

    /// <summary>
    /// A session of the ONNX model; on a CUDA device through ONNX Runtime's CUDA execution provider; with
    /// <paramref name="threads"/> intra-op threads (null: ONNX Runtime's default, one per physical core).
    /// </summary>
    /// <exception cref="EfficientNetException">ONNX Runtime is missing, or its CUDA provider when a GPU is asked for.</exception>
    public static OnnxScoring Create(byte[] model, int? cudaDevice, int? threads = null)
    {
        if (WhyUnavailable.Value is { } why)
            throw new EfficientNetException($"ONNX Runtime cannot be loaded ({why}). Reference the Microsoft.ML.OnnxRuntime package (or Microsoft.ML.OnnxRuntime.Gpu) in the application, or choose ScoringEngine.TorchSharp.");
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads ?? 0 };
        if (cudaDevice is { } device)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(device);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                throw new EfficientNetException($"ONNX Runtime's CUDA execution provider is not available ({e.Message}): reference Microsoft.ML.OnnxRuntime.Gpu 1.31.0 instead of Microsoft.ML.OnnxRuntime, with CUDA and cuDNN installed, or score with ScoringEngine.TorchSharp on TorchSharp-cuda.", e);
            }
        }
        return new OnnxScoring(new InferenceSession(model, options));
    }

    /// <summary>
    /// Class probabilities (or, with <paramref name="output"/> <see cref="OnnxExport.FeaturesName"/>, the pooled features)
    /// for planar RGB images (3 x size x size bytes each), in one run.
    /// </summary>
    public float[][] Score(IReadOnlyList<byte[]> images, int size, string output = OnnxExport.ProbabilitiesName)
    {
        // The session's graph takes the pixels as bytes (OnnxExport.GraphOptions.Scoring) and casts them itself.
        var imageValues = 3 * size * size;
        var input = new byte[images.Count * imageValues];
        for (var i = 0; i < images.Count; i++)
            images[i].AsSpan(0, imageValues).CopyTo(input.AsSpan(i * imageValues));
        usage.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var tensor = new DenseTensor<byte>(input, new[] { images.Count, 3, size, size });
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, tensor) }, new[] { output });
            var probabilities = results.First().AsTensor<float>().ToArray();
            var width = probabilities.Length / images.Count;
            return Enumerable.Range(0, images.Count).Select(i => probabilities.AsSpan(i * width, width).ToArray()).ToArray();
        }
        finally
        {
            usage.ExitReadLock();
        }
    }

    public void Dispose()
    {
        usage.EnterWriteLock();
        try
        {
            if (disposed) return;
            disposed = true;
            session.Dispose();
        }
        finally
        {
            usage.ExitWriteLock();
        }
    }
}

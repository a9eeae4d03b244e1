using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Onnx;
using EfficientNet.MLNet.Training;
using EfficientNet.MLNet.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Scoring;

/// <summary>
/// The network behind a trained transformer, and the engine that scores with it. A loaded model keeps its weights as
/// bytes and builds the TorchSharp network only when something needs it (TorchSharp scoring, the <c>Model</c>
/// property, training): scoring through ONNX Runtime builds the ONNX graph from the bytes, so an application that only
/// loads and scores needs no libtorch. Once the TorchSharp network has been handed out (a user may change it), the ONNX
/// session is rebuilt whenever libtorch's version counters show that a weight changed, as the folded batch norms are.
/// </summary>
internal sealed class ScoringNetwork : IDisposable
{
    private readonly object gate = new();
    private readonly int classCount;
    private readonly bool sigmoid;
    private readonly int imageSize;
    private readonly PixelNormalization normalization;
    private readonly int? gpuDeviceId;
    private readonly bool fallbackToCpu;
    private EfficientNetModel? model;
    private Device? device;
    private byte[]? weights;
    private bool modelHandedOut;
    private OnnxScoring? onnx;
    private int? onnxThreads;
    private int? sessionThreads;
    private (IntPtr Handle, long Version)[]? onnxSource;
    private bool disposed;

    private ScoringNetwork(EfficientNetScaling scaling, int classCount, double stochasticDepthProbability, double dropoutRate, int imageSize,
        PixelNormalization normalization, int? gpuDeviceId, bool fallbackToCpu, bool sigmoid)
    {
        this.sigmoid = sigmoid;
        Scaling = scaling;
        this.classCount = classCount;
        StochasticDepthProbability = stochasticDepthProbability;
        DropoutRate = dropoutRate;
        this.imageSize = imageSize;
        this.normalization = normalization;
        this.gpuDeviceId = gpuDeviceId;
        this.fallbackToCpu = fallbackToCpu;
    }

    /// <summary>A network that exists in TorchSharp already (after training), on <paramref name="device"/>; <paramref name="sigmoid"/>: a multi-label head.</summary>
    public static ScoringNetwork FromModel(EfficientNetModel model, Device device, int imageSize, PixelNormalization normalization, bool sigmoid = false) =>
        new(model.Scaling, model.NumClasses, model.StochasticDepthProbability, model.DropoutRate, imageSize, normalization,
            device.type == DeviceType.CUDA ? device.index : null, fallbackToCpu: false, sigmoid)
        {
            model = model,
            device = device,
        };

    /// <summary>A network held as safetensors bytes (checked against the layout), built in TorchSharp only when needed.</summary>
    public static ScoringNetwork FromWeights(byte[] weights, EfficientNetScaling scaling, int classCount, double stochasticDepthProbability, double dropoutRate,
        int imageSize, PixelNormalization normalization, int? gpuDeviceId, bool fallbackToCpu, bool sigmoid = false) =>
        new(scaling, classCount, stochasticDepthProbability, dropoutRate, imageSize, normalization, gpuDeviceId, fallbackToCpu, sigmoid) { weights = weights };

    public EfficientNetScaling Scaling { get; }
    public double StochasticDepthProbability { get; }
    public double DropoutRate { get; }

    /// <summary>Which engine scores; Auto by default (see <see cref="ScoringEngine"/>).</summary>
    public ScoringEngine Engine { get; set; }

    /// <summary>Views averaged per image (see <see cref="MLNet.TestTimeAugmentation"/>); none by default.</summary>
    public TestTimeAugmentation TestTimeAugmentation { get; set; }

    /// <summary>ONNX Runtime's intra-op threads for this network's session (null: its default); a change rebuilds the session.</summary>
    public int? OnnxThreads
    {
        get
        {
            lock (gate)
                return onnxThreads;
        }
        set
        {
            lock (gate)
                onnxThreads = value;
        }
    }

    /// <summary>The TorchSharp network (built now if it was not); the user may change it, and scoring follows.</summary>
    public EfficientNetModel Model
    {
        get
        {
            lock (gate)
            {
                var network = Materialized();
                modelHandedOut = true;
                return network;
            }
        }
    }

    /// <summary>
    /// The TorchSharp network for the library's own reading (Grad-CAM), built now if it was not, without handing it out:
    /// the ONNX session stays as it is (no version-counter walk per run, no rebuild), since nothing here changes a weight.
    /// </summary>
    internal EfficientNetModel ModelForReading
    {
        get
        {
            lock (gate)
                return Materialized();
        }
    }

    /// <summary>How many ONNX Runtime sessions this network has built (a rebuild follows a change of weights or threads).</summary>
    internal int OnnxSessionsBuilt { get; private set; }

    /// <summary>Whether an ONNX Runtime session has been built.</summary>
    public bool HasOnnxSession
    {
        get
        {
            lock (gate)
                return onnx is not null;
        }
    }

    /// <summary>Whether the TorchSharp network exists (a loaded model scored through ONNX Runtime never builds it).</summary>
    public bool HasTorchSharpNetwork
    {
        get
        {
            lock (gate)
                return model is not null;
        }
    }

    /// <summary>The engine that scores the next batch.</summary>
    public ScoringEngine EngineInUse
    {
        get
        {
            lock (gate)
                return UsesOnnxRuntime() ? ScoringEngine.OnnxRuntime : ScoringEngine.TorchSharp;
        }
    }

    /// <summary>Class probabilities for planar RGB images of the image size: one pass, or the mean over the test-time views.</summary>
    public float[][] Score(IReadOnlyList<byte[]> images)
    {
        if (TestTimeAugmentation == TestTimeAugmentation.None || images.Count == 0)
            return ScoreOnce(images);
        var scores = TestTimeViews.Of(images, imageSize, TestTimeAugmentation).Select(ScoreOnce).ToList();
        return Enumerable.Range(0, images.Count)
            .Select(i => Enumerable.Range(0, classCount).Select(c => scores.Sum(view => view[i][c]) / scores.Count).ToArray())
            .ToArray();
    }

    /// <summary>
    /// The pooled features before the classifier (head channels per image) for planar RGB images of the image size, one
    /// pass (no test-time views), on the engine that scores.
    /// </summary>
    public float[][] Features(IReadOnlyList<byte[]> images) => Run(images, features: true);

    float[][] ScoreOnce(IReadOnlyList<byte[]> images) => Run(images, features: false);

    float[][] Run(IReadOnlyList<byte[]> images, bool features)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (images.Count == 0)
            return Array.Empty<float[]>();
        while (true)
        {
            EfficientNetModel? torchSharp = null;
            OnnxScoring? session = null;
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                if (UsesOnnxRuntime())
                    session = CurrentSession();
                else
                    torchSharp = Materialized();
            }
            if (torchSharp is not null)
                return ScoreWithTorchSharp(torchSharp, images, features);
            try
            {
                return session!.Score(images, imageSize, features ? OnnxExport.FeaturesName : OnnxExport.ProbabilitiesName);
            }
            catch (ObjectDisposedException) when (!disposed && !ReferenceEquals(session, onnx))
            {
                // Replaced by a session of newer weights between choosing and running: run the new one.
            }
        }
    }

    /// <summary>Builds the engine's session or network and scores a blank image twice (see EfficientNetTransformer.WarmUp).</summary>
    public void WarmUp()
    {
        var blank = new[] { new byte[3 * imageSize * imageSize] };
        Score(blank);
        Score(blank);
    }

    float[][] ScoreWithTorchSharp(EfficientNetModel network, IReadOnlyList<byte[]> images, bool features)
    {
        using var scope = NewDisposeScope();
        var input = NetworkInput.FromImages(images, imageSize, device!, normalization);
        var values = (features ? network.InferFeatures(input) : Probabilities(network.Infer(input))).to(ScalarType.Float32).cpu();
        var flat = values.data<float>().ToArray();
        var width = (int)values.shape[1];
        return Enumerable.Range(0, images.Count).Select(i => flat.AsSpan(i * width, width).ToArray()).ToArray();
    }

    /// <summary>The head's activation: a sigmoid per label (multi-label), or softmax over the classes.</summary>
    public Tensor Probabilities(Tensor logits) => sigmoid ? logits.sigmoid() : logits.softmax(1);

    /// <summary>The weights as safetensors bytes (what a model zip stores).</summary>
    public byte[] WeightsBytes()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (model is null)
                return weights!;
            using var stream = new MemoryStream();
            using (model.Exclusive())
                model.SaveToStream(stream);
            return stream.ToArray();
        }
    }

    /// <summary>Writes the ONNX export (normalization inside, batch norms folded, class names in the metadata; a multi-label model's thresholds).</summary>
    public void WriteOnnx(Stream stream, IReadOnlyList<string> classNames, OnnxWeightPrecision weightPrecision, float[]? thresholds = null)
    {
        var options = OnnxExport.GraphOptions.Export with { WeightPrecision = weightPrecision, Sigmoid = sigmoid, Thresholds = thresholds };
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (model is null)
            {
                stream.Write(OnnxExport.FromSafetensors(Scaling, SafetensorsFile.FromBytes(weights!, "the model's weights"), imageSize, classNames, normalization, options));
                return;
            }
            using (model.Exclusive())
                OnnxExport.Write(model, imageSize, stream, classNames, normalization, options);
        }
    }

    // Auto: ONNX Runtime on the CPU when it can be loaded, unless the network was handed out where its changes cannot
    // be seen (no version counter).
    bool UsesOnnxRuntime() => Engine switch
    {
        ScoringEngine.OnnxRuntime => true,
        ScoringEngine.TorchSharp => false,
        _ => OnnxScoring.IsAvailable && CudaDevice() is null && !(modelHandedOut && model is not null && !model.CanTrackChanges()),
    };

    int? CudaDevice() => device is { type: DeviceType.CUDA } cuda ? cuda.index : model is null ? gpuDeviceId : null;

    OnnxScoring CurrentSession()
    {
        if (onnx is not null && sessionThreads == onnxThreads && !(modelHandedOut && model is not null && Changed(model, onnxSource)))
            return onnx;
        byte[] graph;
        if (model is null)
        {
            graph = OnnxExport.FromSafetensors(Scaling, SafetensorsFile.FromBytes(weights!, "the model's weights"), imageSize, null, normalization, OnnxExport.GraphOptions.Scoring with { Sigmoid = sigmoid });
            onnxSource = null;
        }
        else
        {
            using (model.Exclusive())
            {
                graph = OnnxExport.ToBytes(model, imageSize, normalization, OnnxExport.GraphOptions.Scoring with { Sigmoid = sigmoid });
                onnxSource = modelHandedOut ? Source(model) : null;
            }
        }
        var previous = onnx;
        onnx = OnnxScoring.Create(graph, CudaDevice(), onnxThreads);
        OnnxSessionsBuilt++;
        sessionThreads = onnxThreads;
        previous?.Dispose(); // waits for its runs in flight
        return onnx;
    }

    // The tensors the session was made from, or null when their changes cannot be seen (then every run rebuilds it).
    static (IntPtr Handle, long Version)[]? Source(EfficientNetModel network) =>
        network.CanTrackChanges() ? network.state_dict().Values.Select(t => (t.Handle, TensorVersion.Of(t)!.Value)).ToArray() : null;

    static bool Changed(EfficientNetModel network, (IntPtr Handle, long Version)[]? source) =>
        source is null || Source(network) is not { } now || !now.SequenceEqual(source);

    EfficientNetModel Materialized()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (model is not null)
            return model;
        device ??= DeviceSelection.Choose(gpuDeviceId is null ? "cpu" : "auto", gpuDeviceId, fallbackToCpu, _ => { });
        var network = new EfficientNetModel(Scaling, classCount, StochasticDepthProbability, DropoutRate);
        try
        {
            network.LoadFromBytes(weights!, "the model zip's weights");
            network.to(device);
            network.eval();
        }
        catch
        {
            network.Dispose();
            throw;
        }
        model = network;
        weights = null;
        return network;
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            onnx?.Dispose();
            model?.Dispose();
        }
    }
}

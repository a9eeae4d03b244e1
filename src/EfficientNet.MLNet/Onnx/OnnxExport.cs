using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Onnx.Ir;
using EfficientNet.MLNet.Weights;
using Google.Protobuf;
using static EfficientNet.MLNet.Onnx.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Onnx;

/// <summary>
/// Writes an <see cref="EfficientNetModel"/> as an ONNX model (IR version 8, opset 17), for inference:
/// input "image", float32 [N, 3, S, S] with RGB values 0..255 in planes (ML.NET's ExtractPixels default), N dynamic;
/// ImageNet normalization inside the graph; every batch norm folded into its convolution; SiLU as x * Sigmoid(x)
/// (opset 17 has no SiLU); output "probabilities", float32 [N, classes] (softmax), and "logits".
/// The graph is built from the layout (<see cref="EfficientNetArchitecture"/>) and the state_dict, by torchvision's names.
/// </summary>
public static class OnnxExport
{
    /// <summary>The opset the graph uses.</summary>
    public const int Opset = 17;

    /// <summary>The name of the graph's input.</summary>
    public const string InputName = "image";

    /// <summary>The name of the class-probability output.</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>The name of the logits output.</summary>
    public const string LogitsName = "logits";

    /// <summary>The scoring sessions' third output: the pooled features before the classifier, [N, head channels].</summary>
    public const string FeaturesName = "features";

    /// <summary>A multi-label export's decisions: bool [N, labels], each probability at least the label's threshold.</summary>
    public const string LabelsName = "labels";

    /// <summary>Writes the model for images of <paramref name="imageSize"/> x <paramref name="imageSize"/>.</summary>
    /// <param name="model">The network (its weights and batch-norm statistics are read; it is not changed).</param>
    /// <param name="imageSize">The square input size.</param>
    /// <param name="stream">Where the ONNX protobuf goes.</param>
    /// <param name="classNames">Stored in the model's metadata ("class_names", one per line), when given.</param>
    /// <param name="normalization">The pixel normalization built into the graph (and its metadata); default ImageNet's.</param>
    /// <param name="weightPrecision">How the weights are stored (<see cref="OnnxWeightPrecision.Float16"/>: half the file).</param>
    public static void Write(EfficientNetModel model, int imageSize, Stream stream, IReadOnlyList<string>? classNames = null, PixelNormalization? normalization = null,
        OnnxWeightPrecision weightPrecision = OnnxWeightPrecision.Float32) =>
        Write(model, imageSize, stream, classNames, normalization, new GraphOptions(weightPrecision, BytePixels: false));

    /// <summary>
    /// What a graph is for: an export keeps the documented float32 input; the library's own scoring session takes the
    /// pixels as bytes (the graph casts them), so a batch needs no conversion to floats in .NET.
    /// </summary>
    internal readonly record struct GraphOptions(OnnxWeightPrecision WeightPrecision, bool BytePixels)
    {
        public static GraphOptions Export => new(OnnxWeightPrecision.Float32, BytePixels: false);
        public static GraphOptions Scoring => new(OnnxWeightPrecision.Float32, BytePixels: true) { FeaturesOutput = true };

        /// <summary>Also output the pooled features (<see cref="FeaturesName"/>): what the image featurizer reads.</summary>
        public bool FeaturesOutput { get; init; }

        /// <summary>A sigmoid per output (a multi-label model) instead of a softmax over them.</summary>
        public bool Sigmoid { get; init; }

        /// <summary>A multi-label model's thresholds: output <see cref="LabelsName"/> and store them in the metadata ("thresholds"). Null: neither.</summary>
        public float[]? Thresholds { get; init; }
    }

    internal static void Write(EfficientNetModel model, int imageSize, Stream stream, IReadOnlyList<string>? classNames, PixelNormalization? normalization, GraphOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        using var scope = NewDisposeScope();
        var state = model.state_dict();
        float[] Values(string name) => state[name].detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        long[] Shape(string name) => state[name].shape;
        Build(model.Scaling, model.Architecture, Values, Shape, imageSize, classNames, (normalization ?? PixelNormalization.ImageNet).Validate(), options).WriteTo(stream);
    }

    /// <summary>
    /// The ONNX model of weights held as safetensors (e.g. a model zip's), built without TorchSharp, so without libtorch:
    /// what scoring through ONNX Runtime needs.
    /// </summary>
    internal static byte[] FromSafetensors(EfficientNetScaling scaling, SafetensorsFile weights, int imageSize, IReadOnlyList<string>? classNames, PixelNormalization normalization,
        GraphOptions options)
    {
        var architecture = EfficientNetArchitecture.Plan(scaling);
        var shapes = weights.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        return Build(scaling, architecture, weights.ReadFloats, name => shapes[name], imageSize, classNames, normalization.Validate(), options).ToByteArray();
    }

    /// <summary>The ONNX model of a network, as bytes (for an ONNX Runtime session).</summary>
    internal static byte[] ToBytes(EfficientNetModel model, int imageSize, PixelNormalization normalization, GraphOptions options)
    {
        using var stream = new MemoryStream();
        Write(model, imageSize, stream, null, normalization, options);
        return stream.ToArray();
    }

    static ModelProto Build(EfficientNetScaling scaling, EfficientNetArchitecture architecture, Func<string, float[]> Values, Func<string, long[]> Shape,
        int imageSize, IReadOnlyList<string>? classNames, PixelNormalization normalization, GraphOptions options)
    {
        var epsilon = scaling.BatchNormEpsilon;
        long size = imageSize; // the feature map's side where the next convolution reads it
        var graph = new OnnxGraphBuilder($"efficientnet_{scaling.Name}", options.WeightPrecision);

        // Convolution (torchvision name prefix P: P.0 conv, P.1 batch norm) with the norm folded in.
        string ConvNorm(string input, string prefix, long stride, long groups, bool activation)
        {
            var weight = Values($"{prefix}.0.weight");
            var shape = Shape($"{prefix}.0.weight");
            var (gamma, beta, mean, variance) = (Values($"{prefix}.1.weight"), Values($"{prefix}.1.bias"), Values($"{prefix}.1.running_mean"), Values($"{prefix}.1.running_var"));
            var perChannel = weight.Length / shape[0];
            var bias = new float[shape[0]];
            for (var c = 0; c < shape[0]; c++)
            {
                var scale = (float)(gamma[c] / Math.Sqrt(variance[c] + epsilon));
                for (var k = 0; k < perChannel; k++) weight[c * perChannel + k] *= scale;
                bias[c] = beta[c] - mean[c] * scale;
            }
            var kernel = shape[2];
            // TensorFlow's "SAME" is computed from the size reaching the layer (the graph's images are square and of one
            // size), and written as the convolution's own explicit, possibly asymmetric, pads: [top, left, bottom, right].
            var (before, after) = scaling.Padding == ConvPadding.Same ? TensorFlowPadding.Of(size, kernel, stride) : ((kernel - 1) / 2, (kernel - 1) / 2);
            size = (size + before + after - kernel) / stride + 1;
            var convolved = graph.Node("Conv", new[] { input, graph.Weight($"{prefix}.weight", weight, shape), graph.Constant($"{prefix}.bias", bias, shape[0]) },
                Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", before, before, after, after),
                Ints("dilations", 1, 1), Int("group", groups));
            return activation ? SiLU(convolved) : convolved;
        }
        string SiLU(string input) => graph.Node("Mul", new[] { input, graph.Node("Sigmoid", new[] { input }) });
        string ConvWithBias(string input, string prefix) =>
            graph.Node("Conv", new[] { input, graph.Weight($"{prefix}.weight", Values($"{prefix}.weight"), Shape($"{prefix}.weight")), graph.Constant($"{prefix}.bias", Values($"{prefix}.bias"), Shape($"{prefix}.bias")) },
                Ints("kernel_shape", 1, 1));

        // (x / 255 - mean) / std = x * scale + shift, per channel.
        var (scale, shift) = NetworkInput.ScaleAndShift(normalization);
        var pixels = options.BytePixels ? graph.Node("Cast", new[] { InputName }, Int("to", (int)TensorProto.Types.DataType.Float)) : InputName;
        var x = graph.Node("Add", new[] { graph.Node("Mul", new[] { pixels, graph.Constant("normalization.scale", scale, 1, 3, 1, 1) }), graph.Constant("normalization.shift", shift, 1, 3, 1, 1) });

        x = ConvNorm(x, "features.0", stride: 2, groups: 1, activation: true);
        for (var s = 0; s < architecture.Stages.Count; s++)
            for (var i = 0; i < architecture.Stages[s].Count; i++)
            {
                var spec = architecture.Stages[s][i];
                var prefix = $"features.{s + 1}.{i}.block";
                var input = x;
                var layer = 0;
                if (spec.Kind == BlockKind.FusedMBConv)
                {
                    // One full convolution expands and filters; without expansion it is the whole block.
                    x = ConvNorm(x, $"{prefix}.{layer++}", spec.Stride, 1, activation: true);
                    if (spec.HasExpansion)
                        x = ConvNorm(x, $"{prefix}.{layer}", 1, 1, activation: false);
                }
                else
                {
                    if (spec.HasExpansion)
                        x = ConvNorm(x, $"{prefix}.{layer++}", 1, 1, activation: true);
                    x = ConvNorm(x, $"{prefix}.{layer++}", spec.Stride, spec.ExpandedChannels, activation: true);
                    var squeezed = graph.Node("GlobalAveragePool", new[] { x });
                    var excitation = graph.Node("Sigmoid", new[] { ConvWithBias(SiLU(ConvWithBias(squeezed, $"{prefix}.{layer}.fc1")), $"{prefix}.{layer}.fc2") });
                    layer++;
                    x = graph.Node("Mul", new[] { x, excitation });
                    x = ConvNorm(x, $"{prefix}.{layer}", 1, 1, activation: false);
                }
                if (spec.HasResidual) // stochastic depth is the identity at inference
                    x = graph.Node("Add", new[] { x, input });
            }
        x = ConvNorm(x, $"features.{architecture.Stages.Count + 1}", 1, 1, activation: true);
        var pooled = options.FeaturesOutput
            ? graph.Node("Flatten", new[] { graph.Node("GlobalAveragePool", new[] { x }) }, FeaturesName, Int("axis", 1))
            : graph.Node("Flatten", new[] { graph.Node("GlobalAveragePool", new[] { x }) }, Int("axis", 1));
        var logits = graph.Node("Gemm", new[] { pooled, graph.Weight("classifier.weight", Values("classifier.1.weight"), Shape("classifier.1.weight")), graph.Constant("classifier.bias", Values("classifier.1.bias"), Shape("classifier.1.bias")) },
            LogitsName, Int("transB", 1));
        var probabilities = options.Sigmoid
            ? graph.Node("Sigmoid", new[] { logits }, ProbabilitiesName)
            : graph.Node("Softmax", new[] { logits }, ProbabilitiesName, Int("axis", 1));
        var classes = Shape("classifier.1.weight")[0];
        if (options.Thresholds is { } thresholds)
        {
            graph.Node("GreaterOrEqual", new[] { probabilities, graph.Constant("thresholds", thresholds, classes) }, LabelsName);
        }

        graph.Graph.Input.Add(Tensor(InputName, options.BytePixels ? TensorProto.Types.DataType.Uint8 : TensorProto.Types.DataType.Float, "N", 3, imageSize, imageSize));
        graph.Graph.Output.Add(FloatTensor(ProbabilitiesName, "N", classes));
        graph.Graph.Output.Add(FloatTensor(LogitsName, "N", classes));
        if (options.FeaturesOutput)
            graph.Graph.Output.Add(FloatTensor(FeaturesName, "N", Shape("classifier.1.weight")[1]));
        if (options.Thresholds is not null)
            graph.Graph.Output.Add(Tensor(LabelsName, TensorProto.Types.DataType.Bool, "N", classes));
        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "EfficientNet.MLNet",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"EfficientNet-{scaling.Name}: image {(options.BytePixels ? "uint8" : "float32")} [N, 3, {imageSize}, {imageSize}] RGB 0..255 -> probabilities [N, {classes}]" + (options.Sigmoid ? " (a sigmoid per label" + (options.Thresholds is null ? ")" : $"; labels bool [N, {classes}] at the thresholds)") : "")
                + (options.WeightPrecision == OnnxWeightPrecision.Float16 ? "; weights stored as float16" : ""),
            Graph = graph.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "image_size", Value = imageSize.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "mean", Value = string.Join(",", normalization.Mean.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "std", Value = string.Join(",", normalization.Std.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) });
        if (classNames is not null)
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = "class_names", Value = string.Join("\n", classNames) });
        if (options.Sigmoid)
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = "task", Value = "multilabel" });
        if (options.Thresholds is { } stored)
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = "thresholds", Value = string.Join(",", stored.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) });
        return onnx;
    }
}

using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// Runs the operations EfficientNet is made of in float32 on this CPU and compares each with the same operation in
/// float64, the reference that does not depend on the float32 kernels under test: dense, 1x1, depthwise and grouped
/// convolutions, with and without bias, in NCHW and channels-last (no_grad and inference-mode forward, training forward,
/// and every gradient), batch norm in
/// training and eval mode, linear, SiLU, sigmoid, adaptive pooling, the squeeze-excitation product, and a whole b0
/// (eval and training, both layouts). oneDNN picks its kernel per shape and layout, so the shapes are the network's
/// own kinds of layer, including the two seen wrong on an AMD EPYC of the Zen 5 generation with libtorch 2.10
/// (a 3x3 24 -> 48 convolution in NCHW at 32x32 and 64x64, a 1x1 320 -> 1280 in channels-last at 7x7).
/// </summary>
/// <remarks>
/// Tolerances, from float32 rounding: a float32 sum of K products of random-signed values drifts from the exact sum by
/// about u sqrt(K) of its scale (u = 2^-24 = 6e-8); the widest sums here have K = 1280, so about 2e-6 relative to the
/// output's largest value, and 1e-6 was measured. <see cref="OperationTolerance"/> (1e-4) leaves a margin of 50 over
/// that and sits 2,500 times below the errors the wrong kernels made (0.25 to 0.47). A whole network adds the drift
/// of about 80 layers, which batch norm keeps from growing: <see cref="NetworkTolerance"/> is 1e-3.
/// </remarks>
internal static class KernelProbe
{
    /// <summary>Largest relative error allowed for one operation (see the remarks).</summary>
    public const double OperationTolerance = 1e-4;

    /// <summary>Largest relative error allowed for a whole network's logits and gradients (see the remarks).</summary>
    public const double NetworkTolerance = 1e-3;

    /// <summary>
    /// Test hook: operations whose name contains this variable's text (before an optional "@configuration", which limits
    /// it to that configuration) get their float32 forward result scaled by 1.25, as a wrong kernel would.
    /// </summary>
    public const string FaultVariable = "EFFICIENTNET_KERNEL_CHECK_FAULT";

    /// <summary>One compared result: the operation, its relative error (largest difference over largest reference value) and the limit.</summary>
    public sealed record Finding(string Operation, double RelativeError, double Tolerance)
    {
        /// <summary>Whether the float32 result is further from float64 than rounding explains (NaN counts as wrong).</summary>
        public bool Wrong => !(RelativeError <= Tolerance);
    }

    /// <summary>
    /// Compares every operation, and a whole b0 if <paramref name="wholeNetwork"/> (0.7 s more on 2 cores: the checking
    /// child does; a process that only confirms its configuration took effect does not). <paramref name="configuration"/>
    /// names the kernel configuration for the fault hook.
    /// </summary>
    public static IReadOnlyList<Finding> Run(string configuration, bool wholeNetwork)
    {
        var fault = Fault(configuration);
        var findings = new List<Finding>();
        using var probing = CpuKernels.Probing();
        using var keepRandom = GlobalRandomState.Keep();
        using var scope = NewDisposeScope();
        var random = new Generator(20261207);
        var probe = new Comparison(random, fault, findings);

        foreach (var channelsLast in new[] { false, true })
        {
            var layout = channelsLast ? "channels-last" : "NCHW";
            void Conv(string name, long batch, long input, long output, long size, long kernel, long stride = 1, long groups = 1) =>
                probe.Compare($"{name} {input}->{output} {size}x{size} {layout}", channelsLast, OperationTolerance,
                    [([batch, input, size, size], 1.0), ([output, input / groups, kernel, kernel], 1.0 / Math.Sqrt(input / groups * kernel * kernel))],
                    x => nn.functional.conv2d(x[0], x[1], strides: [stride, stride], padding: [kernel / 2, kernel / 2], groups: groups));
            Conv("conv 3x3", 4, 24, 48, 32, 3);
            Conv("conv 3x3", 4, 24, 48, 64, 3);
            Conv("conv 3x3 stride 2 (stem)", 2, 3, 32, 64, 3, stride: 2);
            Conv("conv 1x1", 4, 320, 1280, 7, 1);
            Conv("conv 1x1", 2, 16, 96, 32, 1);
            Conv("conv 1x1", 2, 96, 24, 16, 1);
            Conv("conv 1x1", 2, 1152, 192, 4, 1);
            Conv("depthwise 3x3 stride 2", 2, 96, 96, 32, 3, stride: 2, groups: 96);
            Conv("depthwise 5x5", 2, 240, 240, 14, 5, groups: 240);
            Conv("depthwise 3x3", 2, 672, 672, 7, 3, groups: 672);
            Conv("grouped 3x3 (4 groups)", 2, 32, 64, 16, 3, groups: 4);
            // With a bias, as TorchSharp scoring runs them (batch norms folded into the convolutions): another oneDNN primitive.
            void ConvWithBias(string name, long batch, long input, long output, long size, long kernel, long stride = 1, long groups = 1) =>
                probe.Compare($"{name} with bias {input}->{output} {size}x{size} {layout}", channelsLast, OperationTolerance,
                    [([batch, input, size, size], 1.0), ([output, input / groups, kernel, kernel], 1.0 / Math.Sqrt(input / groups * kernel * kernel)), ([output], 1.0)],
                    x => nn.functional.conv2d(x[0], x[1], x[2], strides: [stride, stride], padding: [kernel / 2, kernel / 2], groups: groups));
            ConvWithBias("conv 3x3", 4, 24, 48, 32, 3);
            ConvWithBias("conv 3x3 stride 2 (stem)", 2, 3, 32, 64, 3, stride: 2);
            ConvWithBias("conv 1x1", 4, 320, 1280, 7, 1);
            ConvWithBias("conv 1x1", 2, 96, 24, 16, 1);
            ConvWithBias("depthwise 5x5", 2, 240, 240, 14, 5, groups: 240);
            probe.Compare($"batch norm (training) {layout}", channelsLast, OperationTolerance, [([4, 48, 16, 16], 1.0), ([48], 1.0), ([48], 1.0)],
                x => nn.functional.batch_norm(x[0], null, null, x[1], x[2], training: true, eps: 1e-5));
            probe.Compare($"SiLU, sigmoid, pooling, squeeze-excitation product {layout}", channelsLast, OperationTolerance, [([2, 96, 16, 16], 1.0)],
                x => nn.functional.silu(x[0]) * nn.functional.adaptive_avg_pool2d(sigmoid(x[0]), [1, 1]));
        }
        probe.Compare("batch norm (eval)", false, OperationTolerance, [([4, 48, 16, 16], 1.0), ([48], 1.0), ([48], 1.0)],
            x => nn.functional.batch_norm(x[0], zeros(48, dtype: x[0].dtype), ones(48, dtype: x[0].dtype), x[1], x[2], training: false, eps: 1e-5));
        probe.Compare("linear 1280->10", false, OperationTolerance, [([8, 1280], 1.0), ([10, 1280], 1.0 / Math.Sqrt(1280))],
            x => nn.functional.linear(x[0], x[1]));
        if (wholeNetwork)
        {
            probe.CompareNetwork(channelsLast: false);
            probe.CompareNetwork(channelsLast: true);
        }
        return findings;
    }

    static Func<string, bool> Fault(string configuration)
    {
        var text = Environment.GetEnvironmentVariable(FaultVariable);
        if (string.IsNullOrEmpty(text))
            return _ => false;
        var at = text.LastIndexOf('@');
        var (operation, only) = at < 0 ? (text, null) : (text[..at], text[(at + 1)..]);
        return name => name.Contains(operation, StringComparison.Ordinal) && (only is null || only == configuration);
    }

    sealed class Comparison(Generator random, Func<string, bool> fault, List<Finding> findings)
    {
        /// <summary>
        /// Runs <paramref name="operation"/> on random float64 inputs (each scaled), then on their float32 copies (4-d ones in
        /// channels-last if asked): once for inference, once with gradients; compares the outputs and every input's gradient.
        /// </summary>
        public void Compare(string name, bool channelsLast, double tolerance, (long[] Shape, double Scale)[] inputs, Func<Tensor[], Tensor> operation)
        {
            using var scope = NewDisposeScope();
            var exact = inputs.Select(i => (randn(i.Shape, dtype: ScalarType.Float64, generator: random) * i.Scale).requires_grad_(true)).ToArray();
            var exactOutput = operation(exact);
            var upstream = randn(exactOutput.shape, dtype: ScalarType.Float64, generator: random);
            var exactGradients = autograd.grad([exactOutput], exact, [upstream]);

            var single = exact.Select(e => Layout(e.detach().to(ScalarType.Float32), channelsLast).requires_grad_(true)).ToArray();
            Tensor inference, inferenceMode;
            using (no_grad())
                inference = Faulty(name, operation(single.Select(s => s.detach()).ToArray()));
            // TorchSharp scoring runs under inference mode, which may pick other kernels than no_grad.
            using (inference_mode())
                inferenceMode = Faulty(name, operation(single.Select(s => s.detach()).ToArray()));
            var output = Faulty(name, operation(single));
            var gradients = autograd.grad([output], single, [upstream.to(ScalarType.Float32)]);

            Record($"{name}: inference", inference, exactOutput, tolerance);
            Record($"{name}: inference mode", inferenceMode, exactOutput, tolerance);
            Record($"{name}: forward", output, exactOutput, tolerance);
            for (var i = 0; i < single.Length; i++)
                Record($"{name}: gradient of input {i}", gradients[i], exactGradients[i], tolerance);
        }

        /// <summary>A whole b0 (10 classes, no dropout or stochastic depth) at 64x64, batch 2: eval logits; training logits and gradients.</summary>
        public void CompareNetwork(bool channelsLast)
        {
            using var scope = NewDisposeScope();
            var name = $"EfficientNet-b0 at 64x64 {(channelsLast ? "channels-last" : "NCHW")}";
            using var single = Network();
            using var exact = Network().to(ScalarType.Float64);
            var images = randn([2, 3, 64, 64], dtype: ScalarType.Float64, generator: random);

            foreach (var training in new[] { false, true })
            {
                single.train(training);
                exact.train(training);
                var exactLogits = exact.call(images.requires_grad_(training));
                var input = Layout(images.detach().to(ScalarType.Float32), channelsLast).requires_grad_(training);
                using var grads = training ? null : no_grad();
                var logits = Faulty(name, single.call(input));
                Record($"{name}: {(training ? "training" : "eval")} logits", logits, exactLogits, NetworkTolerance);
                if (!training)
                    continue;
                var upstream = randn(exactLogits.shape, dtype: ScalarType.Float64, generator: random);
                var stem = single.named_parameters().First().parameter;
                var exactStem = exact.named_parameters().First().parameter;
                var exactGradients = autograd.grad([exactLogits], [images, exactStem], [upstream]);
                var gradients = autograd.grad([logits], [input, stem], [upstream.to(ScalarType.Float32)]);
                Record($"{name}: gradient of the images", gradients[0], exactGradients[0], NetworkTolerance);
                Record($"{name}: gradient of the stem's weights", gradients[1], exactGradients[1], NetworkTolerance);
            }
        }

        static EfficientNetModel Network()
        {
            using var generator = new Generator(1);
            return new EfficientNetModel(EfficientNetVariants.B0, 10, stochasticDepthProbability: 0, dropoutRate: 0, generator: generator);
        }

        Tensor Faulty(string name, Tensor output) => fault(name) ? output * 1.25f : output;

        void Record(string operation, Tensor actual, Tensor expected, double tolerance)
        {
            var reference = expected.detach();
            var error = (actual.detach().to(ScalarType.Float64) - reference).abs().max().item<double>() / Math.Max(reference.abs().max().item<double>(), 1e-30);
            findings.Add(new Finding(operation, error, tolerance));
        }

        static Tensor Layout(Tensor x, bool channelsLast) =>
            channelsLast && x.dim() == 4 ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x;
    }
}

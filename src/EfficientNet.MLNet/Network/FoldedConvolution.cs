using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// A convolution with its batch norm folded in, for scoring: weight * gamma / sqrt(var + eps) and
/// beta - mean * gamma / sqrt(var + eps) as the bias. One convolution instead of a convolution and a normalization;
/// equal outputs to float rounding. Held outside the module's registered state, so the state_dict (torchvision's
/// names) is unchanged. It remembers the version of every tensor it was made from, and its device and dtype, so that
/// a fold made before the weights, statistics, device or dtype changed is never used.
/// </summary>
internal sealed class FoldedConvolution : IDisposable
{
    private readonly IntPtr[] handles;
    private readonly long?[] versions;
    private readonly long[] stride, padding;
    private readonly long groups;

    public FoldedConvolution(Conv2d convolution, BatchNorm2d norm, double epsilon, long[] stride, long[] padding, long groups)
    {
        var weight = convolution.weight!;
        var sources = Sources(convolution, norm);
        handles = sources.Select(t => t.Handle).ToArray();
        versions = sources.Select(TensorVersion.Of).ToArray();
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var scale = norm.weight! / norm.running_var!.add(Scalars.Of(epsilon), Scalars.One).sqrt();
        // Kept until refolded or disposed: out of every dispose scope (scoring runs inside its caller's scope).
        Weight = (weight * scale.view(-1, 1, 1, 1)).contiguous().DetachFromDisposeScope();
        Bias = (norm.bias! - norm.running_mean! * scale).DetachFromDisposeScope();
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }

    /// <summary>Whether it was made from the tensors the layers hold now, unchanged since, on their device and dtype.</summary>
    public bool IsCurrentFor(Conv2d convolution, BatchNorm2d norm)
    {
        // A module moved to another device or dtype holds new tensors (other handles); an in-place change bumps the version.
        var current = Sources(convolution, norm);
        for (var i = 0; i < current.Length; i++)
            if (current[i].Handle != handles[i] || versions[i] is null || TensorVersion.Of(current[i]) != versions[i])
                return false;
        return true;
    }

    static Tensor[] Sources(Conv2d convolution, BatchNorm2d norm) =>
        new[] { convolution.weight!, norm.weight!, norm.bias!, norm.running_mean!, norm.running_var! };

    public Tensor Apply(Tensor input) => nn.functional.conv2d(input, Weight, Bias, stride, padding, new long[] { 1, 1 }, groups);

    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}

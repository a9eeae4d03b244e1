using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// Squeeze-and-excitation (Hu et al., 2018): global average pooling squeezes each channel to one number,
/// a 1x1 bottleneck (SiLU) and expansion (sigmoid) turn those into per-channel gates, and the input is scaled by
/// them. Field names follow torchvision (<c>fc1</c>, <c>fc2</c>).
/// </summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Conv2d fc1;
    private readonly Conv2d fc2;
    private readonly nn.Module<Tensor, Tensor> activation;
    private readonly nn.Module<Tensor, Tensor> scale_activation;

    /// <summary>Builds the block.</summary>
    /// <param name="channels">Channels of the tensor being gated (the MBConv block's expanded channels).</param>
    /// <param name="squeezeChannels">Bottleneck width: a quarter of the MBConv block's input channels, at least 1.</param>
    public SqueezeExcitation(long channels, long squeezeChannels) : base(nameof(SqueezeExcitation))
    {
        CpuKernels.EnsureChecked();
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc1 = nn.Conv2d(channels, squeezeChannels, 1);
        fc2 = nn.Conv2d(squeezeChannels, channels, 1);
        activation = nn.SiLU();
        scale_activation = nn.Sigmoid();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var squeezed = avgpool.call(input);
        using var reduced = fc1.call(squeezed);
        using var activated = activation.call(reduced);
        using var expanded = fc2.call(activated);
        using var gates = scale_activation.call(expanded);
        return input * gates;
    }
}

using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>torchvision's EfficientNet initialization, so that training from scratch starts where PyTorch's does.</summary>
internal static class WeightInitialization
{
    /// <summary>
    /// Convolutions: Kaiming normal with fan-out (gain sqrt 2), zero bias. Batch norm: weight 1, bias 0.
    /// Linear: uniform in +-1/sqrt(out_features), zero bias. Drawn from <paramref name="generator"/> (null: libtorch's
    /// global generator); written out here because TorchSharp 0.107's nn.init functions ignore a generator.
    /// </summary>
    public static void ApplyTorchvisionDefaults(nn.Module model, Generator? generator = null)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    // fan-out = output channels x kernel area (PyTorch's _calculate_fan_in_and_fan_out), gain sqrt(2).
                    var weight = conv.weight!;
                    var fanOut = weight.shape[0] * weight.shape[2] * weight.shape[3];
                    weight.normal_(0, Math.Sqrt(2.0 / fanOut), generator);
                    if (conv.bias is { } convBias)
                        nn.init.zeros_(convBias);
                    break;
                case BatchNorm2d norm:
                    nn.init.ones_(norm.weight!);
                    nn.init.zeros_(norm.bias!);
                    break;
                case Linear linear:
                    var range = 1.0 / Math.Sqrt(linear.weight!.shape[0]);
                    linear.weight.uniform_(-range, range, generator);
                    if (linear.bias is { } linearBias)
                        nn.init.zeros_(linearBias);
                    break;
            }
        }
    }
}

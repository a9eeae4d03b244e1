using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>torchvision's EfficientNet initialization, so that training from scratch starts where PyTorch's does.</summary>
internal static class WeightInitialization
{
    /// <summary>
    /// Convolutions: Kaiming normal with fan-out (gain sqrt 2), zero bias. Batch norm: weight 1, bias 0.
    /// Linear: uniform in +-1/sqrt(out_features), zero bias.
    /// </summary>
    public static void ApplyTorchvisionDefaults(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight!, mode: nn.init.FanInOut.FanOut);
                    if (conv.bias is { } convBias)
                        nn.init.zeros_(convBias);
                    break;
                case BatchNorm2d norm:
                    nn.init.ones_(norm.weight!);
                    nn.init.zeros_(norm.bias!);
                    break;
                case Linear linear:
                    var range = 1.0 / Math.Sqrt(linear.weight!.shape[0]);
                    nn.init.uniform_(linear.weight, -range, range);
                    if (linear.bias is { } linearBias)
                        nn.init.zeros_(linearBias);
                    break;
            }
        }
    }
}

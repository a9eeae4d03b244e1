using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// timm's names for the same network. timm's <c>efficientnet_b0</c> to <c>efficientnet_b3</c> have torchvision's
/// architecture (channels, repeats, squeeze-excitation on the block's input channels, batch-norm epsilon 1e-5)
/// under other names: <c>conv_stem</c>, <c>bn1</c>, <c>blocks.S.I.conv_pw / conv_dw / se.conv_reduce /
/// se.conv_expand / conv_pwl</c>, <c>conv_head</c>, <c>bn2</c>, <c>classifier</c>; its EfficientNetV2 stages add
/// <c>conv</c> / <c>bn1</c> (ConvBnAct) and <c>conv_exp</c> / <c>bn1</c> / <c>conv_pwl</c> / <c>bn2</c> (EdgeResidual).
/// timm's <c>tf_efficientnet_b0..b7</c> and <c>tf_efficientnetv2_s/m/l</c> are the variants "tf_b0".."tf_v2_l"
/// (TensorFlow's "SAME" padding, epsilon 1e-3) under these names.
/// </summary>
public static class TimmNames
{
    static readonly string[] NormEntries = { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" };

    /// <summary>Whether tensor names are timm's (its stem is <c>conv_stem.weight</c>).</summary>
    public static bool AreTimm(IEnumerable<string> names) => names.Contains("conv_stem.weight");

    /// <summary>timm name to torchvision name, for every tensor of <paramref name="architecture"/>.</summary>
    public static IReadOnlyDictionary<string, string> ToTorchvision(EfficientNetArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Conv(string timm, string torchvision, bool bias = false)
        {
            map[$"{timm}.weight"] = $"{torchvision}.weight";
            if (bias) map[$"{timm}.bias"] = $"{torchvision}.bias";
        }
        void Norm(string timm, string torchvision)
        {
            foreach (var entry in NormEntries)
                map[$"{timm}.{entry}"] = $"{torchvision}.{entry}";
        }
        void SqueezeExcitation(string timm, string torchvision)
        {
            Conv($"{timm}.conv_reduce", $"{torchvision}.fc1", bias: true);
            Conv($"{timm}.conv_expand", $"{torchvision}.fc2", bias: true);
        }

        Conv("conv_stem", "features.0.0");
        Norm("bn1", "features.0.1");
        for (var s = 0; s < architecture.Stages.Count; s++)
            for (var i = 0; i < architecture.Stages[s].Count; i++)
            {
                var timm = $"blocks.{s}.{i}";
                var torchvision = $"features.{s + 1}.{i}.block";
                var block = architecture.Stages[s][i];
                if (block.Kind == BlockKind.FusedMBConv && !block.HasExpansion)
                {
                    // timm's ConvBnAct ("cn"): one k x k convolution.
                    Conv($"{timm}.conv", $"{torchvision}.0.0");
                    Norm($"{timm}.bn1", $"{torchvision}.0.1");
                }
                else if (block.Kind == BlockKind.FusedMBConv)
                {
                    // timm's EdgeResidual ("er"): k x k expansion, (no SE in V2), 1x1 projection.
                    Conv($"{timm}.conv_exp", $"{torchvision}.0.0");
                    Norm($"{timm}.bn1", $"{torchvision}.0.1");
                    Conv($"{timm}.conv_pwl", $"{torchvision}.1.0");
                    Norm($"{timm}.bn2", $"{torchvision}.1.1");
                }
                else if (!block.HasExpansion)
                {
                    // timm's DepthwiseSeparableConv: depthwise, SE, pointwise projection.
                    Conv($"{timm}.conv_dw", $"{torchvision}.0.0");
                    Norm($"{timm}.bn1", $"{torchvision}.0.1");
                    SqueezeExcitation($"{timm}.se", $"{torchvision}.1");
                    Conv($"{timm}.conv_pw", $"{torchvision}.2.0");
                    Norm($"{timm}.bn2", $"{torchvision}.2.1");
                }
                else
                {
                    // timm's InvertedResidual: expansion, depthwise, SE, projection.
                    Conv($"{timm}.conv_pw", $"{torchvision}.0.0");
                    Norm($"{timm}.bn1", $"{torchvision}.0.1");
                    Conv($"{timm}.conv_dw", $"{torchvision}.1.0");
                    Norm($"{timm}.bn2", $"{torchvision}.1.1");
                    SqueezeExcitation($"{timm}.se", $"{torchvision}.2");
                    Conv($"{timm}.conv_pwl", $"{torchvision}.3.0");
                    Norm($"{timm}.bn3", $"{torchvision}.3.1");
                }
            }
        var head = architecture.Stages.Count + 1;
        Conv("conv_head", $"features.{head}.0");
        Norm("bn2", $"features.{head}.1");
        Conv("classifier", "classifier.1", bias: true);
        return map;
    }
}

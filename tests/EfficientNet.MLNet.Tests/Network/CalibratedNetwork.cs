using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>
/// A freshly made EfficientNet in evaluation mode gives every input the same output (its batch norms' running statistics
/// are the initial 0 and 1, and the signal fades layer by layer: torchvision's efficientnet_b0 gives features about 1e-14
/// apart), so a test that compares two ways of scoring it could not see a wrong crop, normalization or channel order.
/// Forward passes in training mode over varied inputs move the running statistics to the activations' own; the network
/// then answers each input its own way.
/// </summary>
internal static class CalibratedNetwork
{
    /// <summary>Calibrates <paramref name="model"/>'s batch norms on random images of <paramref name="size"/> and leaves it in evaluation mode.</summary>
    public static EfficientNetModel Calibrate(EfficientNetModel model, int size, int passes = 12, long seed = 11)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        manual_seed(seed); // stochastic depth and dropout draw from the global generator in training mode
        // The running statistics start afresh and average every pass alike (momentum null: PyTorch's cumulative average,
        // as torch.optim.swa_utils.update_bn does): a momentum of 0.1 would keep the initial variance of 1 for a hundred
        // passes, far above the activations' own, and the signal would still fade.
        var norms = model.modules().OfType<BatchNorm2d>().ToList();
        var momenta = norms.Select(n => n.momentum).ToList();
        foreach (var norm in norms)
        {
            norm.reset_running_stats();
            norm.momentum = null;
        }
        model.train();
        for (var pass = 0; pass < passes; pass++)
        {
            // Images whose brightness and contrast vary from image to image, as photographs' do, around ImageNet's normalization.
            var brightness = randn(4, 3, 1, 1, generator: generator);
            var contrast = rand(4, 1, 1, 1, generator: generator) + 0.5;
            model.call(brightness + contrast * randn(4, 3, size, size, generator: generator));
        }
        for (var i = 0; i < norms.Count; i++)
            norms[i].momentum = momenta[i];
        model.eval();
        return model;
    }

    /// <summary>Asserts that <paramref name="scores"/> differ from row to row by more than <paramref name="atLeast"/> somewhere: the premise of a comparison on them.</summary>
    public static void AssertInputDependent(IReadOnlyList<float[]> scores, float atLeast = 1e-3f)
    {
        var spread = Enumerable.Range(0, scores[0].Length).Max(c => scores.Max(s => s[c]) - scores.Min(s => s[c]));
        Assert.True(spread > atLeast, $"the network's outputs vary by only {spread} over {scores.Count} inputs: a comparison on them could not fail");
    }
}

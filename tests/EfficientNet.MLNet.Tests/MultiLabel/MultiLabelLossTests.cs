using System.Text.Json;
using EfficientNet.MLNet.MultiLabel;
using EfficientNet.MLNet.Tests.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>
/// The multi-label losses in float64 against Debian's PyTorch: binary cross-entropy against its own
/// binary_cross_entropy_with_logits (pos_weight), the asymmetric loss against the paper's formula written in PyTorch;
/// the values and the gradients with respect to the logits.
/// </summary>
public class MultiLabelLossTests
{
    [Fact]
    public void The_losses_and_their_gradients_are_pytorchs()
    {
        Assert.SkipUnless(TorchvisionEquivalenceTests.TorchvisionIsInstalled(), "needs Debian's python3-torch; .ci/run installs it");
        var random = new Random(3);
        const int rows = 12, labels = 5;
        var logits = Enumerable.Range(0, rows * labels).Select(_ => (random.NextDouble() - 0.5) * 10).ToArray();
        var targets = Enumerable.Range(0, rows * labels).Select(i => i % 7 == 3 ? 0.7 : random.NextDouble() < 0.3 ? 1.0 : 0.0).ToArray(); // one mixed (mixup) target in seven
        double[] weights = [1, 2.5, 4, 1, 10];
        using var folder = new FixturePaths.TemporaryFolder();
        File.WriteAllText(folder.File("input.json"), JsonSerializer.Serialize(new { logits, targets, weights, rows, labels }));

        var expected = JsonDocument.Parse(DebianPython.Run(folder.File("losses.py"), LossesScript, folder.File("input.json"))).RootElement;

        foreach (var (name, loss) in new (string, Func<Tensor, Tensor, Tensor>)[]
                 {
                     ("bce", (x, y) => MultiLabelLoss.BinaryCrossEntropy(x, y)),
                     ("bce_weighted", (x, y) => MultiLabelLoss.BinaryCrossEntropy(x, y, tensor(weights))),
                     ("asl", (x, y) => MultiLabelLoss.Asymmetric(x, y)),
                     ("asl_gamma_positive", (x, y) => MultiLabelLoss.Asymmetric(x, y, gammaPositive: 1, gammaNegative: 2, clip: 0.1)),
                 })
        {
            using var scope = NewDisposeScope();
            var x = tensor(logits).view(rows, labels).requires_grad_();
            var value = loss(x, tensor(targets).view(rows, labels));
            value.backward();
            var theirs = expected.GetProperty(name);
            Assert.True(Math.Abs(theirs.GetProperty("loss").GetDouble() - value.item<double>()) < 1e-12, $"{name}: ours {value.item<double>()}, PyTorch's {theirs.GetProperty("loss").GetDouble()}");
            var gradient = x.grad!.data<double>().ToArray();
            var theirGradient = theirs.GetProperty("grad").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.True(gradient.Zip(theirGradient).All(p => Math.Abs(p.First - p.Second) < 1e-12), $"{name}: the gradients differ by up to {gradient.Zip(theirGradient).Max(p => Math.Abs(p.First - p.Second))}");
        }
        // The premise: the four losses are four different functions here.
        Assert.Equal(4, new[] { "bce", "bce_weighted", "asl", "asl_gamma_positive" }.Select(n => Math.Round(expected.GetProperty(n).GetProperty("loss").GetDouble(), 6)).Distinct().Count());
    }

    [Fact]
    public void At_logits_of_exactly_zero_where_a_zeroed_head_starts_the_gradient_is_sigmoid_minus_the_target()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(2, 3, requires_grad: true);
        var targets = tensor(new float[] { 1, 0, 1, 0, 0, 1 }).view(2, 3);

        MultiLabelLoss.BinaryCrossEntropy(logits, targets).backward();

        // Summed over the labels, averaged over 2 rows: (sigmoid(0) - y) / 2.
        Assert.Equal(new[] { -0.25f, 0.25f, -0.25f, 0.25f, 0.25f, -0.25f }, logits.grad!.data<float>().ToArray(), new ToleranceComparer(1e-7f));
    }

    [Fact]
    public void Logits_of_any_size_give_a_finite_loss_and_gradient_in_float32()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { -200, -90, 0, 90, 200, 1e6f }).view(1, 6).requires_grad_();
        var targets = tensor(new float[] { 1, 0, 1, 1, 0, 0 }).view(1, 6);

        var loss = MultiLabelLoss.BinaryCrossEntropy(logits, targets);
        loss.backward();

        // -200 for a positive costs 200, 200 and 1e6 for negatives cost as much; the rest nothing (0 costs log 2).
        Assert.Equal(200 + Math.Log(2) + 200 + 1e6, loss.item<float>(), 0);
        Assert.True(logits.grad!.data<float>().ToArray().All(float.IsFinite), "a gradient is not finite");
    }

    [Fact]
    public void Positive_weights_follow_the_label_frequencies_within_bounds()
    {
        Assert.Equal([1f, 4f, 10f, 1f], MultiLabelLoss.PositiveWeights([60, 20, 1, 0], rows: 100));
        Assert.Throws<ArgumentException>(() => MultiLabelLoss.PositiveWeights([101], rows: 100));
    }

    const string LossesScript = """
            import json, sys
            import torch
            import torch.nn.functional as F
            data = json.load(open(sys.argv[1]))
            shape = (data["rows"], data["labels"])
            y = torch.tensor(data["targets"], dtype=torch.float64).view(shape)
            w = torch.tensor(data["weights"], dtype=torch.float64)

            def asymmetric(x, y, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, eps=1e-8):
                # Ridnik et al. (2021): p_m = max(p - m, 0) for the negatives; asymmetric focusing.
                p = torch.sigmoid(x)
                p_m = (p - clip).clamp(min=0) if clip > 0 else p
                positive = y * (1 - p) ** gamma_pos * torch.log(p.clamp(min=eps))
                negative = (1 - y) * p_m ** gamma_neg * torch.log((1 - p_m).clamp(min=eps))
                return -(positive + negative).sum(1).mean()

            losses = {
                "bce": lambda x: F.binary_cross_entropy_with_logits(x, y, reduction="none").sum(1).mean(),
                "bce_weighted": lambda x: F.binary_cross_entropy_with_logits(x, y, pos_weight=w, reduction="none").sum(1).mean(),
                "asl": lambda x: asymmetric(x, y),
                "asl_gamma_positive": lambda x: asymmetric(x, y, 1.0, 2.0, 0.1),
            }
            out = {}
            for name, loss in losses.items():
                x = torch.tensor(data["logits"], dtype=torch.float64).view(shape).requires_grad_()
                value = loss(x)
                value.backward()
                out[name] = {"loss": value.item(), "grad": x.grad.flatten().tolist()}
            print(json.dumps(out))
            """;
}

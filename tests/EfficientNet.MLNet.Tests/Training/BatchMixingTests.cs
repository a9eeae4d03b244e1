using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

public class BatchMixingTests
{
    static int[][] OneEach(params long[] classes) => classes.Select(c => new[] { (int)c }).ToArray();

    [Fact]
    public void Multi_hot_targets_are_smoothed_towards_one_half_and_mixed_label_by_label()
    {
        // Row 0 {0, 2} mixed with row 1 {1}; row 1 with row 0.
        var labels = new[] { new[] { 0, 2 }, new[] { 1 } };

        var targets = BatchMixing.Targets(labels, width: 3, lambda: 0.75, smoothing: 0.2, smoothingShare: 0.5);

        // 0.1 everywhere, plus 0.8 x 0.75 on row 0's own labels and 0.8 x 0.25 on its partner's.
        Assert.Equal(new[] { 0.7f, 0.3f, 0.7f, 0.3f, 0.7f, 0.3f }, targets, new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Soft_targets_sum_to_1_and_put_lambda_and_1_minus_lambda_on_the_two_labels()
    {
        var labels = OneEach(0, 2, 1, 2);

        var targets = BatchMixing.Targets(labels, width: 3, lambda: 0.7, smoothing: 0.3, smoothingShare: 1.0 / 3);

        for (var i = 0; i < 4; i++)
            Assert.Equal(1.0, targets.Skip(i * 3).Take(3).Sum(), 5);
        // Image 0 (label 0) is mixed with image 3 (label 2): 0.1 everywhere, plus 0.7 x 0.7 on class 0 and 0.3 x 0.7 on class 2.
        Assert.Equal(new[] { 0.59f, 0.1f, 0.31f }, targets.Take(3), new ToleranceComparer(1e-6f));
        // Image 1 (label 2) with image 2 (label 1).
        Assert.Equal(new[] { 0.1f, 0.31f, 0.59f }, targets.Skip(3).Take(3), new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Without_mixing_the_loss_equals_cross_entropy_with_label_smoothing()
    {
        using var scope = NewDisposeScope();
        var logits = randn(6, 4, generator: new Generator(1));
        var labels = new long[] { 0, 1, 2, 3, 1, 0 };

        var ours = SoftTargetLoss.Of(logits, tensor(BatchMixing.Targets(OneEach(labels), 4, 1, 0.1, 1.0 / 4)).view(6, 4), null).item<float>();
        var pytorch = nn.functional.cross_entropy(logits, tensor(labels), label_smoothing: 0.1).item<float>();

        Assert.Equal(pytorch, ours, 5);
    }

    [Fact]
    public void Class_weights_give_the_weighted_mean_computed_by_hand()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 2, 0, 0, 1, 0, 3 }).view(3, 2);
        var labels = new long[] { 0, 1, 0 };
        var classWeights = new[] { 1f, 3f };
        var weights = labels.Select(l => classWeights[l]).ToArray();

        var loss = SoftTargetLoss.Of(logits, tensor(BatchMixing.Targets(OneEach(labels), 2, 1, 0, 1.0 / 2)).view(3, 2), tensor(weights)).item<float>();

        // -log softmax of each row at its label, weighted 1, 3, 1, divided by 5.
        double Nll(double own, double other) => -(own - Math.Log(Math.Exp(own) + Math.Exp(other)));
        var expected = (1 * Nll(2, 0) + 3 * Nll(1, 0) + 1 * Nll(0, 3)) / 5;
        Assert.Equal(expected, loss, 5);
        // PyTorch's own class-weighted cross-entropy agrees.
        Assert.Equal(nn.functional.cross_entropy(logits, tensor(labels), weight: tensor(classWeights)).item<float>(), loss, 5);
        // A batch whose weights are all 0 contributes nothing (not NaN).
        Assert.Equal(0f, SoftTargetLoss.Of(logits, tensor(BatchMixing.Targets(OneEach(labels), 2, 1, 0, 1.0 / 2)).view(3, 2), zeros(3)).item<float>());
    }

    [Fact]
    public void Mixup_blends_each_image_with_its_mirror_by_lambda()
    {
        using var scope = NewDisposeScope();
        var pixels = rand(4, 3, 8, 8) * 255;

        var (mixed, lambda) = BatchMixing.Mix(pixels, new Mixup(MixupAlpha: 0.4, CutMixAlpha: 0), new Random(5));

        Assert.InRange(lambda, 0, 1);
        var expected = pixels * lambda + pixels.flip(0) * (1 - lambda);
        Assert.True((mixed - expected).abs().max().item<float>() < 1e-3);
    }

    [Fact]
    public void CutMix_pastes_one_box_of_the_mirrored_image_and_lambda_is_the_area_kept()
    {
        using var scope = NewDisposeScope();
        var random = new Random(6);
        for (var trial = 0; trial < 20; trial++)
        {
            var pixels = arange(4f).view(4, 1, 1, 1).expand(4, 3, 16, 16).contiguous();

            var (mixed, lambda) = BatchMixing.Mix(pixels, new Mixup(MixupAlpha: 0, CutMixAlpha: 1), random);

            // Image 0 holds 0s; its pasted box holds image 3's 3s.
            var pasted = mixed[0].eq(3f).sum().item<long>() / 3.0;
            Assert.Equal(1 - pasted / 256, lambda, 9);
            Assert.Equal(256 - pasted, mixed[0, 0].eq(0f).sum().item<long>());
        }
    }

    [Fact]
    public void Beta_samples_have_the_distributions_mean_and_variance()
    {
        var random = new Random(7);
        foreach (var alpha in new[] { 0.2, 1.0, 2.0 })
        {
            var samples = Enumerable.Range(0, 20000).Select(_ => BetaDistribution.Sample(random, alpha)).ToList();
            var mean = samples.Average();
            var variance = samples.Average(x => (x - mean) * (x - mean));
            Assert.Equal(0.5, mean, 0.02);
            Assert.Equal(1 / (4 * (2 * alpha + 1)), variance, 0.01);
            Assert.All(samples, x => Assert.InRange(x, 0, 1));
        }
    }

    [Fact]
    public void Mixing_a_batch_mixes_the_loss_weights_of_the_two_images()
    {
        var weights = BatchMixing.Weights(new[] { 1f, 2f, 4f }, 0.75);

        Assert.Equal(new[] { 0.75f * 1 + 0.25f * 4, 2f, 0.75f * 4 + 0.25f * 1 }, weights, new ToleranceComparer(1e-6f));
    }
}

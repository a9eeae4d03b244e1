using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>
/// The network's batch norm (its own class, so that the batch counter's increment holds its Scalars alive) behaves
/// exactly as TorchSharp's BatchNorm2d: the same names, outputs, running statistics and batch count, in training and
/// in eval mode.
/// </summary>
public class BatchNorm2dTests
{
    [Theory]
    [InlineData(0.1, 1e-5)]
    [InlineData(0.01, 1e-3)]
    public void Training_and_eval_equal_TorchSharps_BatchNorm2d(double momentum, double epsilon)
    {
        using var ours = new EfficientNet.MLNet.Network.BatchNorm2d(6, epsilon, momentum);
        using var theirs = nn.BatchNorm2d(6, eps: epsilon, momentum: momentum);
        using var generator = new Generator(5);
        using (no_grad())
        {
            ours.weight!.uniform_(0.5, 1.5, generator);
            ours.bias!.normal_(0, 0.1, generator);
            theirs.weight!.copy_(ours.weight);
            theirs.bias!.copy_(ours.bias);
        }
        var batches = Enumerable.Range(0, 3).Select(_ => randn(new long[] { 4, 6, 5, 5 }, generator: generator)).ToList();

        foreach (var batch in batches)
        {
            using var a = ours.call(batch);
            using var b = theirs.call(batch);
            TensorAssert.Identical(b, a);
        }
        ours.eval();
        theirs.eval();
        using var evalOurs = ours.call(batches[0]);
        using var evalTheirs = theirs.call(batches[0]);

        Assert.Equal(theirs.state_dict().Keys, ours.state_dict().Keys);
        foreach (var (name, value) in theirs.state_dict())
            TensorAssert.Identical(value, ours.state_dict()[name]);
        Assert.Equal(3L, ours.num_batches_tracked!.item<long>());
        TensorAssert.Identical(evalTheirs, evalOurs);
        Assert.Equal("BatchNorm2d", ours.GetType().Name);
        Assert.Throws<ArgumentException>(() => ours.call(zeros(2, 6)));
        foreach (var batch in batches) batch.Dispose();
    }
}

using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

public class BuildingBlockTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(16, 4)]
    [InlineData(40, 10)]
    [InlineData(2, 1)]
    public void Squeeze_channels_are_a_quarter_of_the_block_input_at_least_1(int input, int expected)
    {
        Assert.Equal(expected, new BlockSpec(input, 8, 6, 3, 1, 0).SqueezeChannels);
    }

    [Fact]
    public void Squeeze_excitation_gates_each_channel_by_sigmoid_of_its_bottlenecked_mean()
    {
        manual_seed(1);
        using var se = new SqueezeExcitation(channels: 6, squeezeChannels: 2);
        using var scope = NewDisposeScope();
        var x = randn(2, 6, 5, 5);
        var state = se.state_dict();

        var mean = x.mean(new long[] { 2, 3 }, keepdim: true);
        var reduced = nn.functional.conv2d(mean, state["fc1.weight"], state["fc1.bias"]);
        var gates = nn.functional.conv2d(nn.functional.silu(reduced), state["fc2.weight"], state["fc2.bias"]).sigmoid();
        var expected = x * gates;

        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, state.Keys);
        Assert.True(se.call(x).allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData(16, 16, 1, true)]
    [InlineData(16, 16, 2, false)]
    [InlineData(16, 24, 1, false)]
    public void Residual_exists_only_at_stride_1_with_equal_channels(int input, int output, int stride, bool expected)
    {
        Assert.Equal(expected, new BlockSpec(input, output, 6, 3, stride, 0).HasResidual);
    }

    [Fact]
    public void Residual_block_adds_its_input_to_the_branch()
    {
        using var block = new MBConv(new BlockSpec(8, 8, 6, 3, 1, 0));
        ZeroProjection(block);
        block.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 8, 6, 6);

        // With the projection's batch norm zeroed the branch is 0, so a residual block returns its input.
        TensorAssert.Identical(x, block.call(x));
    }

    [Fact]
    public void Block_without_residual_returns_only_its_branch()
    {
        using var block = new MBConv(new BlockSpec(8, 16, 6, 3, 2, 0));
        ZeroProjection(block);
        block.eval();
        using var scope = NewDisposeScope();

        var y = block.call(randn(2, 8, 6, 6));

        Assert.Equal(new long[] { 2, 16, 3, 3 }, y.shape);
        Assert.Equal(0, y.abs().max().item<float>());
    }

    [Fact]
    public void Block_without_expansion_has_no_expand_convolution()
    {
        using var expanding = new MBConv(new BlockSpec(16, 24, 6, 3, 2, 0));
        using var plain = new MBConv(new BlockSpec(32, 16, 1, 3, 1, 0));

        // block.0 is the expansion when there is one; otherwise the depthwise convolution comes first.
        Assert.Equal(new long[] { 96, 16, 1, 1 }, expanding.state_dict()["block.0.0.weight"].shape);
        Assert.Equal(new long[] { 32, 1, 3, 3 }, plain.state_dict()["block.0.0.weight"].shape);
        Assert.Equal(new long[] { 8, 32, 1, 1 }, plain.state_dict()["block.1.fc1.weight"].shape);
    }

    [Fact]
    public void Fused_block_expands_with_one_full_convolution_and_has_no_squeeze_excitation()
    {
        using var expanding = new FusedMBConv(new BlockSpec(24, 48, 4, 3, 2, 0, BlockKind.FusedMBConv));
        using var plain = new FusedMBConv(new BlockSpec(24, 24, 1, 3, 1, 0, BlockKind.FusedMBConv));

        // Expanding: a 3x3 full convolution to 96 channels, then the 1x1 projection; torchvision's names and shapes.
        Assert.Equal(new long[] { 96, 24, 3, 3 }, expanding.state_dict()["block.0.0.weight"].shape);
        Assert.Equal(new long[] { 48, 96, 1, 1 }, expanding.state_dict()["block.1.0.weight"].shape);
        Assert.Equal(12, expanding.state_dict().Count); // two convolution weights and two batch norms of 4 tensors and a counter
        // Without expansion: a single 3x3 convolution to the output channels.
        Assert.Equal(new long[] { 24, 24, 3, 3 }, plain.state_dict()["block.0.0.weight"].shape);
        Assert.Equal(6, plain.state_dict().Count);
        Assert.DoesNotContain(expanding.state_dict().Keys, key => key.Contains("fc1", StringComparison.Ordinal));
    }

    [Fact]
    public void Fused_residual_block_adds_its_input_and_a_strided_one_halves_the_size()
    {
        using var residual = new FusedMBConv(new BlockSpec(8, 8, 4, 3, 1, 0, BlockKind.FusedMBConv));
        using var strided = new FusedMBConv(new BlockSpec(8, 16, 4, 3, 2, 0, BlockKind.FusedMBConv));
        using (no_grad())
        {
            residual.state_dict()["block.1.1.weight"].zero_();
            residual.state_dict()["block.1.1.bias"].zero_();
        }
        residual.eval();
        strided.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 8, 6, 6);

        TensorAssert.Identical(x, residual.call(x));
        Assert.Equal(new long[] { 2, 16, 3, 3 }, strided.call(x).shape);
    }

    [Fact]
    public void A_block_refuses_a_spec_of_the_other_kind()
    {
        Assert.Throws<ArgumentException>(() => new FusedMBConv(new BlockSpec(8, 8, 4, 3, 1, 0)));
        Assert.Throws<ArgumentException>(() => new MBConv(new BlockSpec(8, 8, 4, 3, 1, 0, BlockKind.FusedMBConv)));
    }

    [Fact]
    public void Stochastic_depth_is_the_identity_in_eval_and_at_p_0()
    {
        using var scope = NewDisposeScope();
        var x = randn(64, 3, 2, 2);

        TensorAssert.Identical(x, StochasticDepth.Apply(x, 0.5, training: false));
        TensorAssert.Identical(x, StochasticDepth.Apply(x, 0.0, training: true));
        Assert.NotSame(x, StochasticDepth.Apply(x, 0.0, training: true));
    }

    [Fact]
    public void Stochastic_depth_drops_whole_rows_at_rate_p_and_rescales_survivors()
    {
        manual_seed(7);
        using var scope = NewDisposeScope();
        const int rows = 20_000;
        const double p = 0.3;
        var x = ones(rows, 2, 3, 3);

        var y = StochasticDepth.Apply(x, p, training: true);

        var perRowMin = y.amin(new long[] { 1, 2, 3 });
        var perRowMax = y.amax(new long[] { 1, 2, 3 });
        Assert.True(TensorAssert.AreIdentical(perRowMin, perRowMax), "each row is dropped or kept as a whole");
        var dropped = perRowMax.eq(0).sum().item<long>() / (double)rows;
        Assert.InRange(dropped, p - 0.015, p + 0.015); // 4.6 standard deviations at 20,000 rows
        var kept = perRowMax.masked_select(perRowMax.ne(0));
        Assert.True(kept.allclose(full_like(kept, 1 / (1 - p))));
    }

    [Fact]
    public void Stochastic_depth_at_p_1_drops_everything()
    {
        using var scope = NewDisposeScope();

        var y = StochasticDepth.Apply(ones(10, 4), 1.0, training: true);

        Assert.Equal(0, y.abs().sum().item<float>());
    }

    static void ZeroProjection(MBConv block)
    {
        using var noGrad = no_grad();
        var state = block.state_dict();
        var last = state.Keys.Where(k => k.StartsWith("block.3.1.", StringComparison.Ordinal)).ToList();
        state["block.3.1.weight"].zero_();
        state["block.3.1.bias"].zero_();
        Assert.Equal(5, last.Count); // weight, bias, running_mean, running_var, num_batches_tracked
    }
}

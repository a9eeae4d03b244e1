using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Tests.Network;

public class CompoundScalingTests
{
    [Fact]
    public void Paper_coefficients_scale_depth_width_and_resolution_by_powers_of_phi()
    {
        var scaling = CompoundScaling.Paper;

        var phi2 = scaling.Scale(2, dropoutRate: 0.3);

        Assert.Equal(1.2 * 1.2, phi2.DepthMultiplier, 12);
        Assert.Equal(1.1 * 1.1, phi2.WidthMultiplier, 12);
        Assert.Equal(296, phi2.Resolution); // 224 * 1.15^2 = 296.24
        Assert.Equal(0.3, phi2.DropoutRate);
        Assert.Equal(1.92, scaling.FlopsGrowthPerPhi, 3); // 1.2 * 1.1^2 * 1.15^2 = 1.9203
        Assert.Null(scaling.Warning);
    }

    [Fact]
    public void Phi_0_is_b0()
    {
        var phi0 = CompoundScaling.Paper.Scale(0);

        Assert.Equal((1.0, 1.0, 224), (phi0.WidthMultiplier, phi0.DepthMultiplier, phi0.Resolution));
    }

    [Fact]
    public void Seed_phi_table_gives_phi_resolution_and_dropout_by_name()
    {
        var b3 = CompoundScaling.Paper.FromSeedPhiTable("b3");

        Assert.Equal(2, CompoundScaling.SeedPhiTable["b3"]);
        Assert.Equal(1.1 * 1.1, b3.WidthMultiplier, 12);
        Assert.Equal(1.2 * 1.2, b3.DepthMultiplier, 12);
        Assert.Equal(300, b3.Resolution);
        Assert.Equal(0.3, b3.DropoutRate);
        Assert.Equal(new[] { 0, 0.5, 1, 2, 3, 4, 5, 6 }, CompoundScaling.SeedPhiTable.Values);
    }

    [Fact]
    public void A_network_built_from_the_seed_table_runs()
    {
        using var model = new EfficientNetModel(CompoundScaling.Paper.FromSeedPhiTable("b1"), numClasses: 3);
        using var scope = TorchSharp.torch.NewDisposeScope();
        model.eval();

        var output = model.call(TorchSharp.torch.randn(1, 3, 64, 64));

        Assert.Equal(new long[] { 1, 3 }, output.shape);
        // depth 1.2^0.5 = 1.095: stage repeats ceil(1.095 * [1,2,2,3,3,4,1])
        Assert.Equal(new[] { 2, 3, 3, 4, 4, 5, 2 }, model.Architecture.Stages.Select(s => s.Count));
    }

    [Theory]
    [InlineData(0.9, 1.1, 1.15, "alpha")]
    [InlineData(1.2, 0.5, 1.15, "beta")]
    [InlineData(1.2, 1.1, 0.99, "gamma")]
    [InlineData(double.NaN, 1.1, 1.15, "alpha")]
    public void Coefficients_below_1_are_rejected_with_their_name(double alpha, double beta, double gamma, string name)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CompoundScaling(alpha, beta, gamma));

        Assert.Equal(name, error.ParamName);
        Assert.Contains("at least 1", error.Message);
    }

    [Fact]
    public void Coefficients_far_from_doubling_the_cost_get_a_warning()
    {
        var steep = new CompoundScaling(2, 2, 2);

        Assert.Equal(32, steep.FlopsGrowthPerPhi);
        Assert.NotNull(steep.Warning);
        Assert.Contains("32", steep.Warning);
    }

    [Fact]
    public void Unknown_phi_table_name_lists_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => CompoundScaling.Paper.FromSeedPhiTable("b8"));

        Assert.Contains("b0, b1, b2, b3, b4, b5, b6, b7", error.Message);
    }
}

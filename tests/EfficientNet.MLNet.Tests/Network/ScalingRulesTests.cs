using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Tests.Network;

public class ScalingRulesTests
{
    // Expected values from torchvision 0.14's _make_divisible(v, 8).
    [Theory]
    [InlineData(32.0, 32)]
    [InlineData(35.2, 32)]   // b2 stem: 32 * 1.1
    [InlineData(17.6, 16)]   // b2 stage 1: 16 * 1.1
    [InlineData(44.8, 48)]   // b4 stem: 32 * 1.4, rounds up
    [InlineData(10.0, 16)]   // 8 would lose more than 10%, so one divisor more
    [InlineData(4.0, 8)]     // never below the divisor
    [InlineData(3.0, 8)]
    [InlineData(172.8, 176)]
    public void MakeDivisible_rounds_to_a_multiple_of_8_never_below_90_percent(double value, int expected)
    {
        Assert.Equal(expected, ScalingRules.MakeDivisible(value));
    }

    [Theory]
    [InlineData(1, 1.1, 2)]
    [InlineData(3, 1.1, 4)]
    [InlineData(2, 1.2, 3)]
    [InlineData(4, 3.1, 13)]
    [InlineData(1, 1.0, 1)]
    public void ScaleRepeats_rounds_up(int repeats, double depth, int expected)
    {
        Assert.Equal(expected, ScalingRules.ScaleRepeats(repeats, depth));
    }

    [Fact]
    public void B0_plan_is_the_papers_table_1()
    {
        var plan = EfficientNetArchitecture.Plan(EfficientNetVariants.B0);

        Assert.Equal(32, plan.StemChannels);
        Assert.Equal(new[] { 16, 24, 40, 80, 112, 192, 320 }, plan.Stages.Select(s => s[0].OutputChannels));
        Assert.Equal(new[] { 1, 2, 2, 3, 3, 4, 1 }, plan.Stages.Select(s => s.Count));
        Assert.Equal(new[] { 1, 2, 2, 2, 1, 2, 1 }, plan.Stages.Select(s => s[0].Stride));
        Assert.Equal(new[] { 3, 3, 5, 3, 5, 5, 3 }, plan.Stages.Select(s => s[0].KernelSize));
        Assert.Equal(1280, plan.HeadChannels);
        Assert.All(plan.Stages.SelectMany(s => s.Skip(1)), block => Assert.Equal(1, block.Stride));
    }

    [Fact]
    public void B7_plan_is_twice_as_wide_and_3_1_times_as_deep()
    {
        var plan = EfficientNetArchitecture.Plan(EfficientNetVariants.B7);

        Assert.Equal(64, plan.StemChannels);
        Assert.Equal(new[] { 4, 7, 7, 10, 10, 13, 4 }, plan.Stages.Select(s => s.Count));
        Assert.Equal(55, plan.BlockCount);
        Assert.Equal(2560, plan.HeadChannels);
    }

    [Fact]
    public void Stochastic_depth_probability_rises_linearly_from_0_towards_0_2()
    {
        var blocks = EfficientNetArchitecture.Plan(EfficientNetVariants.B0).Stages.SelectMany(s => s).ToList();

        Assert.Equal(16, blocks.Count);
        for (var i = 0; i < blocks.Count; i++)
            Assert.Equal(0.2 * i / 16, blocks[i].StochasticDepthProbability, 12);
    }
}

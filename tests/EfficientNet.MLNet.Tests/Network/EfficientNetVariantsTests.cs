using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Tests.Network;

public class EfficientNetVariantsTests
{
    [Theory]
    [InlineData("b0", 1.0, 1.0, 224, 0.2, 1e-5, 0.1)]
    [InlineData("b1", 1.0, 1.1, 240, 0.2, 1e-5, 0.1)]
    [InlineData("b2", 1.1, 1.2, 260, 0.3, 1e-5, 0.1)]
    [InlineData("b3", 1.2, 1.4, 300, 0.3, 1e-5, 0.1)]
    [InlineData("b4", 1.4, 1.8, 380, 0.4, 1e-5, 0.1)]
    [InlineData("b5", 1.6, 2.2, 456, 0.4, 1e-3, 0.01)]
    [InlineData("b6", 1.8, 2.6, 528, 0.5, 1e-3, 0.01)]
    [InlineData("b7", 2.0, 3.1, 600, 0.5, 1e-3, 0.01)]
    public void Variant_rows_are_the_papers_with_torchvisions_batch_norm(string name, double width, double depth, int resolution, double dropout, double eps, double momentum)
    {
        var variant = EfficientNetVariants.Get(name);

        Assert.Equal(new EfficientNetScaling(name, width, depth, resolution, dropout, eps, momentum), variant);
    }

    [Theory]
    [InlineData("v2_s", 384, 0.2)]
    [InlineData("v2_m", 480, 0.3)]
    [InlineData("v2_l", 480, 0.4)]
    public void V2_rows_are_torchvisions_with_their_own_block_tables_and_eps_1e_3(string name, int resolution, double dropout)
    {
        var variant = EfficientNetVariants.Get(name);

        Assert.Equal((1.0, 1.0, resolution, dropout, 1e-3, 0.1), (variant.WidthMultiplier, variant.DepthMultiplier, variant.Resolution, variant.DropoutRate, variant.BatchNormEpsilon, variant.BatchNormMomentum));
        Assert.Equal(name, variant.Blocks.Name);
        Assert.Equal(BlockKind.FusedMBConv, variant.Blocks.Stages[0].Block);
        Assert.Equal(3, variant.Blocks.Stages.Count(stage => stage.Block == BlockKind.FusedMBConv));
    }

    [Theory]
    [InlineData("v2_s")]
    [InlineData("V2-S")]
    [InlineData("efficientnet_v2_s")]
    [InlineData(" EfficientNet-V2-S ")]
    public void Get_reads_v2_names_like_torchvision_and_with_dashes(string name)
    {
        Assert.Same(EfficientNetVariants.V2S, EfficientNetVariants.Get(name));
    }

    [Theory]
    [InlineData("B3")]
    [InlineData(" b3 ")]
    [InlineData("efficientnet_b3")]
    public void Get_accepts_case_spaces_and_torchvision_names(string name)
    {
        Assert.Same(EfficientNetVariants.B3, EfficientNetVariants.Get(name));
    }

    [Fact]
    public void Unknown_version_error_lists_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => EfficientNetVariants.Get("b9"));

        Assert.Contains("'b9'", error.Message);
        Assert.Contains("b0, b1, b2, b3, b4, b5, b6, b7, v2_s, v2_m, v2_l", error.Message);
    }

    [Fact]
    public void Invalid_custom_scaling_names_the_bad_value()
    {
        var error = Assert.Throws<ArgumentException>(() => new EfficientNetModel(new EfficientNetScaling("tiny", 1.0, 1.0, 16, 0.2)));

        Assert.Contains("Resolution", error.Message);
        Assert.Contains("16", error.Message);
    }
}

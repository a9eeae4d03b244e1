using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Tests.Network;

public class ParameterCountTests
{
    // torchvision 0.14's efficientnet_bN / efficientnet_v2_X(num_classes=1000): sum(p.numel() for p in model.parameters()),
    // and len(model.state_dict()) (see ../shared/notes/platform.md and Fixtures/make_torchvision_fixtures.py).
    [Theory]
    [InlineData("b0", 5_288_548, 360)]
    [InlineData("b1", 7_794_184, 508)]
    [InlineData("b2", 9_109_994, 508)]
    [InlineData("b3", 12_233_232, 574)]
    [InlineData("b4", 19_341_616, 706)]
    [InlineData("b5", 30_389_784, 854)]
    [InlineData("b6", 43_040_704, 986)]
    [InlineData("b7", 66_347_960, 1200)]
    [InlineData("v2_s", 21_458_488, 782)]
    [InlineData("v2_m", 54_139_356, 1120)]
    [InlineData("v2_l", 118_515_272, 1548)]
    public void Variant_with_1000_classes_has_torchvisions_parameter_and_state_dict_counts(string version, long parameters, int stateDictEntries)
    {
        using var model = EfficientNetModel.Create(version);

        Assert.Equal(parameters, model.parameters().Sum(p => p.numel()));
        Assert.Equal(stateDictEntries, model.state_dict().Count);
        Assert.Equal(model.state_dict().Values.Sum(t => t.numel()), model.Architecture.StateElementCount(1000));
    }

    [Fact]
    public void B0_with_10_classes_has_4_020_358_parameters()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 10);

        Assert.Equal(4_020_358, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Backbone_and_classifier_parameters_partition_the_model()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 10);

        var classifier = model.ClassifierParameters().Sum(p => p.numel());
        var backbone = model.BackboneParameters().Sum(p => p.numel());

        Assert.Equal(1280 * 10 + 10, classifier);
        Assert.Equal(4_020_358 - classifier, backbone);
    }
}

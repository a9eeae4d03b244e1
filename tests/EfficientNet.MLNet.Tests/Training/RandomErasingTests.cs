using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

public class RandomErasingTests
{
    [Fact]
    public void An_erased_image_has_one_box_of_2_to_33_percent_of_its_area_in_the_fill_colour_and_the_rest_untouched()
    {
        using var scope = NewDisposeScope();
        var erasing = new RandomErasing(1.0, new[] { -1f, -2f, -3f });
        var random = new Random(2);
        for (var i = 0; i < 50; i++)
        {
            var original = rand(1, 3, 32, 32) * 255;
            var image = original.clone();

            Assert.True(erasing.Apply(image, random));

            var filled = image.select(1, 0).eq(-1f).logical_and(image.select(1, 1).eq(-2f)).logical_and(image.select(1, 2).eq(-3f));
            var area = filled.sum().item<long>() / (32.0 * 32);
            Assert.InRange(area, 0.02 - 1.0 / 32, 0.33 + 1.0 / 32);
            // The rows and columns of the box form a rectangle: its bounding box is all filled.
            var rows = filled.any(2).squeeze(0).sum().item<long>();
            var columns = filled.any(1).squeeze(0).sum().item<long>();
            Assert.Equal(rows * columns, filled.sum().item<long>());
            var untouched = filled.logical_not().unsqueeze(1).expand(1, 3, 32, 32);
            Assert.True(image.masked_select(untouched).eq(original.masked_select(untouched)).all().item<bool>());
        }
    }

    [Fact]
    public void Images_are_erased_with_the_given_probability()
    {
        using var scope = NewDisposeScope();
        var erasing = new RandomErasing(0.25, new[] { 0f, 0f, 0f });
        var random = new Random(3);

        var erased = Enumerable.Range(0, 800).Count(_ => erasing.Apply(ones(1, 3, 16, 16), random));

        Assert.InRange(erased / 800.0, 0.20, 0.30);
        Assert.False(new RandomErasing(0, new[] { 0f, 0f, 0f }).Apply(ones(1, 3, 16, 16), random));
    }
}

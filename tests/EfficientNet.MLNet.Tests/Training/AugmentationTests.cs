using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

public class AugmentationTests
{
    [Fact]
    public void Without_cropping_each_image_is_kept_or_mirrored_about_half_the_time()
    {
        using var scope = NewDisposeScope();
        var batch = rand(200, 3, 8, 8);
        var augmentation = new Augmentation(new Random(3), minimumScale: 1.0);

        var output = augmentation.Apply(batch);

        var flipped = 0;
        for (var i = 0; i < 200; i++)
        {
            var same = TensorAssert.AreIdentical(batch[i], output[i]);
            var mirrored = TensorAssert.AreIdentical(batch[i].flip(2), output[i]);
            Assert.True(same ^ mirrored, $"image {i} is neither kept nor mirrored");
            if (mirrored) flipped++;
        }
        Assert.InRange(flipped, 70, 130);
    }

    [Fact]
    public void Random_resized_crops_keep_the_size_and_stay_within_the_input_range()
    {
        using var scope = NewDisposeScope();
        var batch = rand(16, 3, 32, 32) * 255;
        var augmentation = new Augmentation(new Random(4), minimumScale: 0.3);

        var output = augmentation.Apply(batch);

        Assert.Equal(batch.shape, output.shape);
        Assert.True(output.min().item<float>() >= 0 && output.max().item<float>() <= 255.001f);
        Assert.False(TensorAssert.AreIdentical(batch, output));
    }

    [Fact]
    public void The_same_seed_gives_the_same_augmentation()
    {
        using var scope = NewDisposeScope();
        var batch = rand(8, 3, 16, 16);

        var first = new Augmentation(new Random(9), 0.5).Apply(batch);
        var second = new Augmentation(new Random(9), 0.5).Apply(batch);

        TensorAssert.Identical(first, second);
    }
}

using System.Text.Json;
using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

/// <summary>
/// The augmentation policies' image operations against torchvision's own functional operations on the same image
/// (Fixtures/augmentation/augmentation_ops.json, made by make_augmentation_fixtures.py with Debian's torchvision 0.14).
/// </summary>
public class ImageOperationsTests
{
    static readonly JsonElement Fixture = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of("augmentation/augmentation_ops.json"))).RootElement;

    static Tensor Input() => tensor(Fixture.GetProperty("input").EnumerateArray().Select(v => (float)v.GetInt32()).ToArray()).view(1, 3, 12, 12);

    public static TheoryData<string, double> Operations()
    {
        var data = new TheoryData<string, double>();
        foreach (var operation in Fixture.GetProperty("operations").EnumerateArray())
        {
            var argument = operation.GetProperty("argument");
            data.Add(operation.GetProperty("name").GetString()!, argument.ValueKind == JsonValueKind.Array ? argument[0].GetDouble() : argument.GetDouble());
        }
        return data;
    }

    static Tensor Expected(string name, double argument) => tensor(Fixture.GetProperty("operations").EnumerateArray()
        .First(o => o.GetProperty("name").GetString() == name && (o.GetProperty("argument") is var a && (a.ValueKind == JsonValueKind.Array ? a[0].GetDouble() : a.GetDouble()) == argument))
        .GetProperty("output").EnumerateArray().Select(v => v.GetSingle()).ToArray()).view(1, 3, 12, 12);

    static Tensor Ours(Tensor image, string name, double argument) => name switch
    {
        "brightness" => ImageOperations.Brightness(image, argument),
        "saturation" => ImageOperations.Saturation(image, argument),
        "contrast" => ImageOperations.Contrast(image, argument),
        "sharpness" => ImageOperations.Sharpness(image, argument),
        "solarize" => ImageOperations.Solarize(image, argument),
        "autocontrast" => ImageOperations.AutoContrast(image),
        "posterize" => ImageOperations.Posterize(image, (int)argument),
        "equalize" => ImageOperations.Equalize(image),
        "rotate" => ImageOperations.Rotate(image, argument),
        "translate" => ImageOperations.Translate(image, 2, -1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Operations))]
    public void Each_operation_equals_torchvisions_on_the_same_image(string name, double argument)
    {
        using var scope = NewDisposeScope();
        var output = Ours(Input(), name, argument);

        var difference = (output - Expected(name, argument)).abs().max().item<float>();
        // Values are 0..255: float32 rounding and the fixture's 4 decimals; a wrong formula is off by units to hundreds.
        Assert.True(difference < 2e-3, $"{name}({argument}) differs from torchvision's by up to {difference}");
    }

    [Fact]
    public void A_shear_keeps_the_centre_row_and_moves_the_others_sideways()
    {
        using var scope = NewDisposeScope();
        var image = arange(12f).view(1, 1, 1, 12).expand(1, 3, 12, 12).contiguous();

        var sheared = ImageOperations.ShearX(image, 2.0 / 11);

        // Rows are sampled at x + shear * y about the centre: rows above and below the middle shift in opposite directions.
        var top = sheared[0, 0, 0, 6].item<float>() - 6;
        var bottom = sheared[0, 0, 11, 6].item<float>() - 6;
        Assert.True(top < -0.5 && bottom > 0.5, $"top row moved {top}, bottom row {bottom}");
        Assert.Equal(-top, bottom, 1e-4);
    }

    [Fact]
    public void Operations_without_strength_leave_the_image_and_every_result_stays_within_0_to_255()
    {
        using var scope = NewDisposeScope();
        var image = Input();
        var random = new Random(1);
        foreach (var operation in Enum.GetValues<AutoAugmentation.Operation>())
            foreach (var wide in new[] { true, false })
                for (var level = 0; level < AutoAugmentation.Levels; level += 5)
                {
                    var output = AutoAugmentation.Apply(image, operation, level, wide, random);
                    Assert.Equal(image.shape, output.shape);
                    Assert.True(output.min().item<float>() >= 0 && output.max().item<float>() <= 255.001f, $"{operation} at {level} left 0..255");
                    // Strength 0 of a strength-driven operation is the identity (torchvision's level 0), except posterize and solarize at their extremes.
                    if (level == 0 && operation is not (AutoAugmentation.Operation.AutoContrast or AutoAugmentation.Operation.Equalize or AutoAugmentation.Operation.Solarize))
                        Assert.True((output - image).abs().max().item<float>() < 1e-3, $"{operation} at strength 0 changed the image");
                }
    }

    [Fact]
    public void TrivialAugmentWide_changes_most_images_with_each_operation_about_equally_often_and_repeats_with_the_seed()
    {
        using var scope = NewDisposeScope();
        var image = Input();
        var policy = new AutoAugmentation(AugmentationPolicy.TrivialAugmentWide, 2, 9);

        var first = Enumerable.Range(0, 280).Select(_ => policy.Apply(image, new Random(_))).ToList();
        var again = Enumerable.Range(0, 280).Select(_ => policy.Apply(image, new Random(_))).ToList();

        Assert.All(first.Zip(again), pair => TensorAssert.Identical(pair.First, pair.Second));
        var changed = first.Count(output => (output - image).abs().max().item<float>() > 1e-3);
        // Identity, level 0 of the strength-driven operations and levels 0 to 2 of posterize (8 bits) leave the image: 10 to 17%.
        Assert.InRange(changed / 280.0, 0.75, 0.97);
        var brightnessMeans = first.Select(o => o.mean().item<float>() / image.mean().item<float>()).ToList();
        Assert.Contains(brightnessMeans, ratio => ratio > 1.3);
        Assert.Contains(brightnessMeans, ratio => ratio < 0.7);
    }

    [Fact]
    public void RandAugment_applies_its_number_of_operations_at_its_magnitude()
    {
        using var scope = NewDisposeScope();
        var image = Input();
        // One operation at magnitude 30 (the strongest): every brightness draw scales by 1.9 or 0.1.
        var strong = new AutoAugmentation(AugmentationPolicy.RandAugment, 1, 30);
        var weak = new AutoAugmentation(AugmentationPolicy.RandAugment, 1, 0);

        var strongChanges = Enumerable.Range(0, 100).Select(i => (strong.Apply(image, new Random(i)) - image).abs().mean().item<float>()).Average();
        var weakChanges = Enumerable.Range(0, 100).Select(i => (weak.Apply(image, new Random(i)) - image).abs().mean().item<float>()).Average();
        var twoOperations = Enumerable.Range(0, 100).Select(i => (new AutoAugmentation(AugmentationPolicy.RandAugment, 2, 30).Apply(image, new Random(i)) - image).abs().mean().item<float>()).Average();

        Assert.True(strongChanges > 3 * weakChanges, $"magnitude 30 changed pixels by {strongChanges} on average, magnitude 0 by {weakChanges}");
        Assert.True(twoOperations > strongChanges, $"two operations changed {twoOperations}, one {strongChanges}");
    }

    [Fact]
    public void AugMix_blends_the_image_with_milder_chains_and_repeats_with_the_seed()
    {
        using var scope = NewDisposeScope();
        var image = Input();
        var policy = new AutoAugmentation(AugmentationPolicy.AugMix, 2, 9);
        var trivial = new AutoAugmentation(AugmentationPolicy.TrivialAugmentWide, 2, 9);

        var outputs = Enumerable.Range(0, 60).Select(i => policy.Apply(image, new Random(i))).ToList();

        Assert.All(outputs, o => Assert.True(o.min().item<float>() >= 0 && o.max().item<float>() <= 255.001f));
        TensorAssert.Identical(outputs[7], policy.Apply(image, new Random(7)));
        var changed = outputs.Count(o => (o - image).abs().max().item<float>() > 1e-3);
        Assert.True(changed >= 55, $"{changed} of 60 images changed");
        // A convex blend with the original: on average it moves pixels less than TrivialAugmentWide's single full-range operation.
        var augMixChange = outputs.Average(o => (o - image).abs().mean().item<float>());
        var trivialChange = Enumerable.Range(0, 60).Average(i => (trivial.Apply(image, new Random(i)) - image).abs().mean().item<float>());
        Assert.True(augMixChange < trivialChange, $"AugMix moved pixels by {augMixChange} on average, TrivialAugmentWide by {trivialChange}");
    }
}

using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Tests.Weights;

/// <summary>
/// torch.save files written by Debian's torch 1.13 (Fixtures/make_torchvision_fixtures.py pth), read through
/// TorchSharp.PyBridge 1.4.4 with TorchSharp 0.107: the same values as the committed safetensors fixture.
/// </summary>
public class PyTorchStateDictTests
{
    [Theory]
    [InlineData("reduced.pth")]            // torch.save(model.state_dict())
    [InlineData("reduced_checkpoint.pth")] // {"epoch": 3, "model": DistributedDataParallel's state_dict ("module." names)}
    [InlineData("reduced_training_checkpoint.pth")] // torchvision's train.py: model, optimizer, lr_scheduler, epoch, args (a Namespace), model_ema
    [InlineData("reduced_timm_checkpoint.pth")]     // timm's train.py: state_dict, state_dict_ema, arch, args...
    public void A_torch_save_file_loads_by_name_and_gives_torchvisions_logits(string file)
    {
        using var model = TorchvisionEquivalenceTests.ReducedModel();

        var report = model.LoadWeights(FixturePaths.Of(file));

        Assert.Equal(model.state_dict().Count, report.Loaded.Count);
        TorchvisionEquivalenceTests.AssertLogitsMatch(model, FixturePaths.Of("reduced_io.safetensors"));
    }

    [Theory]
    [InlineData("reduced.pth")]
    [InlineData("reduced_training_checkpoint.pth")]
    public void Tensors_of_a_checkpoint_outside_its_state_dict_are_disposed(string file)
    {
        using var model = TorchvisionEquivalenceTests.ReducedModel();
        model.LoadWeights(FixturePaths.Of(file)); // warm-up: lazily created tensors
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        model.LoadWeights(FixturePaths.Of(file));

        // The optimizer's momentum buffers, the EMA copy, the unpickler's intermediate tensors and the finiteness
        // checks' temporaries: none may stay alive.
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData("reduced_training_checkpoint.pth")] // "model_ema": AveragedModel's "module." names and "n_averaged"
    [InlineData("reduced_timm_checkpoint.pth")]     // "state_dict_ema"
    public void The_moving_average_of_a_training_checkpoint_loads_when_asked_for(string file)
    {
        using var weights = TorchvisionEquivalenceTests.ReducedModel();
        using var average = TorchvisionEquivalenceTests.ReducedModel();
        weights.LoadWeights(FixturePaths.Of("reduced.pth"));

        var report = average.LoadWeights(FixturePaths.Of(file), movingAverage: true);

        // The fixture's moving average is the weights halved (every float tensor).
        Assert.Equal(average.state_dict().Count, report.Loaded.Count);
        var expected = weights.state_dict();
        foreach (var (name, tensor) in average.state_dict().Where(p => p.Value.is_floating_point()))
            Assert.True(tensor.allclose(expected[name] * 0.5), $"{name} is not the moving average");
    }

    [Fact]
    public void Asking_for_a_moving_average_a_file_does_not_hold_names_what_to_look_for()
    {
        using var model = TorchvisionEquivalenceTests.ReducedModel();

        var plain = Assert.Throws<WeightsFormatException>(() => model.LoadWeights(FixturePaths.Of("reduced.pth"), movingAverage: true));
        var safetensors = Assert.Throws<WeightsFormatException>(() => model.LoadWeights(FixturePaths.Of("reduced.safetensors"), movingAverage: true));

        Assert.Contains("holds no moving average of the weights: expected a training checkpoint with model_ema or state_dict_ema", plain.Message);
        Assert.Contains("a safetensors file holds one set of weights", safetensors.Message);
    }

    [Fact]
    public void Files_are_told_apart_by_extension_or_zip_signature()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var unnamed = folder.File("weights");
        File.Copy(FixturePaths.Of("reduced.pth"), unnamed);

        Assert.True(ModuleWeights.IsPyTorchFile(FixturePaths.Of("reduced.pth")));
        Assert.True(ModuleWeights.IsPyTorchFile(unnamed));
        Assert.False(ModuleWeights.IsPyTorchFile(FixturePaths.Of("reduced.safetensors")));
    }

    [Fact]
    public void A_damaged_or_foreign_file_is_a_WeightsFormatException_naming_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var truncated = folder.File("truncated.pth");
        var bytes = File.ReadAllBytes(FixturePaths.Of("reduced.pth"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var text = folder.File("notes.pth");
        File.WriteAllText(text, "not a torch.save file");
        using var model = TorchvisionEquivalenceTests.ReducedModel();

        var cut = Assert.Throws<WeightsFormatException>(() => model.LoadWeights(truncated));
        var notPyTorch = Assert.Throws<WeightsFormatException>(() => model.LoadWeights(text));

        Assert.Contains("truncated.pth' is not a valid PyTorch state_dict (torch.save) file", cut.Message);
        Assert.Contains("notes.pth", notPyTorch.Message);
    }
}

using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Tests.Weights;

/// <summary>Byte flips and cuts of a real torch.save file: the library's exceptions or a clean load, nothing else.</summary>
public class PyTorchFuzzTests
{
    [Fact]
    public void Every_mutated_torch_save_file_loads_or_fails_with_the_librarys_exceptions()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var original = File.ReadAllBytes(FixturePaths.Of("reduced.pth"));
        var random = new Random(20261125);
        var path = folder.File("mutated.pth");
        using var model = TorchvisionEquivalenceTests.ReducedModel();
        using var reference = TorchvisionEquivalenceTests.ReducedModel();
        reference.LoadPyTorch(FixturePaths.Of("reduced.pth"));
        var outcomes = new Dictionary<string, int>();

        for (var i = 0; i < 300; i++)
        {
            File.WriteAllBytes(path, ByteMutation.FlipOrCut(original, random));
            string outcome;
            try
            {
                model.LoadPyTorch(path);
                // A change the CRC-32 cannot see (zip bookkeeping) may load, but never with other values.
                var same = model.state_dict().All(p => p.Value.equal(reference.state_dict()[p.Key]).all().item<bool>());
                outcome = same ? "loaded unchanged" : "loaded with changed values";
            }
            catch (EfficientNetException e)
            {
                outcome = e.GetType().Name;
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        // Every entry carries a CRC-32: no changed byte of the stored tensors loads silently.
        Assert.True(outcomes.GetValueOrDefault("loaded with changed values") == 0, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault(nameof(WeightsFormatException)) > 250, string.Join(", ", outcomes));
    }
}

using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Weights;

/// <summary>Bounded mutation fuzzing: random byte flips, truncations and NaN or infinite values in valid files, fixed seed.</summary>
public class SafetensorsFuzzTests
{
    const int Mutations = 3000;

    static byte[] ValidFile()
    {
        using var stream = new MemoryStream();
        using var scope = NewDisposeScope();
        manual_seed(1);
        SafetensorsWriter.Write(stream, new[] { ("a.weight", randn(4, 3)), ("a.bias", randn(4)), ("steps", tensor(7L)), ("half", randn(5).to(ScalarType.Float16)) },
            new Dictionary<string, string> { ["format"] = "pt" });
        return stream.ToArray();
    }

    static IEnumerable<byte[]> Mutants(byte[] valid, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < Mutations; i++)
        {
            var mutant = (byte[])valid.Clone();
            switch (random.Next(4))
            {
                case 0: // flip a few bytes anywhere
                    for (var n = random.Next(1, 5); n > 0; n--)
                        mutant[random.Next(mutant.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1: // flip bytes in the header, where the structure is
                    var header = Math.Min(mutant.Length, 8 + (int)BitConverter.ToUInt64(valid, 0));
                    for (var n = random.Next(1, 4); n > 0; n--)
                        mutant[random.Next(header)] = (byte)random.Next(256);
                    break;
                case 2: // truncate
                    mutant = mutant[..random.Next(mutant.Length)];
                    break;
                default: // a value made NaN or infinite, which only the check of the values refuses
                    var data = 8 + (int)BitConverter.ToUInt64(valid, 0);
                    var at = data + 4 * random.Next((mutant.Length - data) / 4);
                    BitConverter.TryWriteBytes(mutant.AsSpan(at), random.Next(2) == 0 ? float.NaN : float.PositiveInfinity);
                    break;
            }
            yield return mutant;
        }
    }

    [Fact]
    public void Every_mutated_file_reads_or_fails_with_WeightsFormatException()
    {
        var outcomes = new Dictionary<string, int> { ["read"] = 0, ["rejected"] = 0 };
        foreach (var mutant in Mutants(ValidFile(), seed: 11))
        {
            try
            {
                var file = SafetensorsFile.FromBytes(mutant, "mutant.safetensors");
                foreach (var tensor in file.ReadAll().Values) tensor.Dispose();
                outcomes["read"]++;
            }
            catch (WeightsFormatException)
            {
                outcomes["rejected"]++;
            }
        }

        Assert.Equal(Mutations, outcomes.Values.Sum());
        Assert.True(outcomes["rejected"] > Mutations / 3, $"read {outcomes["read"]}, rejected {outcomes["rejected"]}");
        Assert.True(outcomes["read"] > 0, "data-only flips still read");
    }

    [Fact]
    public void Loading_mutated_weights_into_a_model_ends_in_the_librarys_own_exceptions_or_a_clean_load()
    {
        using var model = new EfficientNetModel(new EfficientNetScaling("tiny", 0.25, 0.34, 32, 0.2), numClasses: 3);
        byte[] valid;
        using (var stream = new MemoryStream())
        {
            model.SaveToStream(stream);
            valid = stream.ToArray();
        }
        // The model after its last clean load (at first, as built): a refused file must leave it exactly so.
        var lastGood = Snapshot(model);
        var loaded = 0;
        try
        {
            foreach (var mutant in Mutants(valid, seed: 12).Take(Mutations / 3))
            {
                using var scope = NewDisposeScope();
                try
                {
                    model.LoadFromBytes(mutant, "mutant");
                    loaded++;
                    Assert.All(model.state_dict().Where(p => p.Value.is_floating_point()), p => Assert.True(p.Value.isfinite().all().item<bool>(), $"a NaN or infinite value was loaded into {p.Key}"));
                    foreach (var tensor in lastGood.Values) tensor.Dispose();
                    lastGood = Snapshot(model);
                }
                catch (Exception e) when (e is WeightsFormatException or WeightsMismatchException)
                {
                    Assert.All(model.state_dict(), p => Assert.True(TensorAssert.AreIdentical(lastGood[p.Key], p.Value), $"a refused file changed {p.Key}"));
                }
            }
        }
        finally
        {
            foreach (var tensor in lastGood.Values) tensor.Dispose();
        }

        Assert.True(loaded > 0);
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
}

using System.IO.Compression;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Network;
using Microsoft.ML;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Damaged model zips: byte flips and truncations of the zip itself (ML.NET's reader meets them first), and of the
/// EfficientNet entries inside a well-formed zip (our description and weights readers meet them). Every case must end
/// in a <see cref="ModelFileException"/> or a clean load with finite weights: never another exception type, a
/// native crash or an allocation sized by a damaged number.
/// </summary>
public class ModelZipFuzzTests
{
    static readonly MLContext ML = new(seed: 1);

    /// <summary>A real but tiny EfficientNet (width and depth 0.1, 3 classes) saved through ML.NET: about 100 KB.</summary>
    static byte[] TinyModelZip(int classes = 3, float[]? thresholds = null)
    {
        var scaling = new EfficientNetScaling("tiny", 0.1, 0.1, 32, 0.2);
        manual_seed(1); // the same bytes whichever tests ran before
        var model = new EfficientNetModel(scaling, classes);
        using var transformer = new EfficientNetTransformer(model, CPU, 32, Enumerable.Range(0, classes).Select(c => $"class {c}").ToList(),
            "Image", "Score", "PredictedLabel", 8, Array.Empty<EpochMetrics>(), null,
            thresholds is null ? null : new EfficientNet.MLNet.Tasks.MultiLabelDecisions(thresholds, "f1", ';'));
        using var zip = new MemoryStream();
        ML.Model.Save(transformer, ML.Data.LoadFromEnumerable(Array.Empty<LabeledImage>()).Schema, zip);
        return zip.ToArray();
    }

    static byte[] ReplaceEntry(byte[] zip, string suffix, Func<byte[], byte[]> change)
    {
        using var copy = new MemoryStream();
        copy.Write(zip);
        using (var archive = new ZipArchive(copy, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith(suffix, StringComparison.Ordinal));
            byte[] content;
            using (var read = entry.Open())
            using (var buffer = new MemoryStream())
            {
                read.CopyTo(buffer);
                content = buffer.ToArray();
            }
            var name = entry.FullName;
            entry.Delete();
            using var write = archive.CreateEntry(name).Open();
            write.Write(change(content));
        }
        return copy.ToArray();
    }

    // Where our description starts in the model entry, after ML.NET's header: the format version, the framed
    // length, then the scaling's name "tiny" as a length-prefixed string.
    static int DescriptionStart(byte[] entry) => entry.AsSpan().IndexOf("\u0004tiny"u8) - 8;

    static Exception? TryLoad(byte[] zip, string path)
    {
        File.WriteAllBytes(path, zip);
        try
        {
            var loaded = ML.Model.LoadEfficientNetModel(path, out _);
            using var classifier = (EfficientNetTransformer)loaded;
            Assert.All(classifier.Model.state_dict().Values.Where(t => t.is_floating_point()), t => Assert.True(t.isfinite().all().item<bool>()));
            return null;
        }
        catch (ModelFileException e)
        {
            return e;
        }
    }

    // Our framed description in the model entry: the format version, the length, the fields, the SHA-256. ML.NET's
    // header comes before it and its string table (the loader's assembly name, read leniently by .NET) after it.
    static (int Start, int End) Description(byte[] entry)
    {
        var start = DescriptionStart(entry);
        return (start, start + 8 + BitConverter.ToInt32(entry, start + 4) + 32);
    }

    [Fact]
    public void Damaged_zips_and_damaged_entries_end_in_ModelFileException_or_a_clean_load()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var zip = TinyModelZip();
        var path = folder.File("model.zip");
        Assert.Null(TryLoad(zip, path));
        var random = new Random(20261125);
        var outcomes = new Dictionary<string, int>();
        void Count(string kind, Exception? error)
        {
            var ours = false;
            for (var cause = error?.InnerException; cause is not null; cause = cause.InnerException)
                ours |= cause is EfficientNetException;
            var outcome = kind + (error is null ? " loaded" : ours ? " ours" : " zip");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        for (var i = 0; i < 400; i++)
            Count("zip", TryLoad(ByteMutation.FlipOrCut(zip, random), path));
        for (var i = 0; i < 400; i++)
            Count("description", TryLoad(ReplaceEntry(zip, "Model.key", content => ByteMutation.FlipOrCut(content, random, Description(content))), path));
        for (var i = 0; i < 200; i++)
            Count("weights", TryLoad(ReplaceEntry(zip, "Weights.safetensors", content => ByteMutation.FlipOrCut(content, random)), path));

        Assert.True(outcomes.GetValueOrDefault("zip zip") > 50, string.Join(", ", outcomes));
        // The SHA-256 over description and weights: no damaged entry of ours loads, however small the change.
        // (A cut entry may fail in ML.NET's reader before ours: also a ModelFileException.)
        Assert.True(outcomes.GetValueOrDefault("description loaded") == 0, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault("description ours") > 200, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault("weights ours") == 200, string.Join(", ", outcomes));
    }

    [Fact]
    public void A_multi_label_zip_alone_is_written_in_format_4_and_its_thresholds_are_checked_when_read()
    {
        byte[] multiclass = null!, multiLabel = null!, weights = null!;
        ReplaceEntry(TinyModelZip(), "Model.key", content => multiclass = content[DescriptionStart(content)..]);
        ReplaceEntry(TinyModelZip(thresholds: [0.25f, 0.5f, 0.75f]), "Model.key", content => multiLabel = content[DescriptionStart(content)..]);
        ReplaceEntry(TinyModelZip(thresholds: [0.25f, 0.5f, 0.75f]), "Weights.safetensors", content => weights = content);
        // A zip older packages can read stays in their format; only what they could not score is format 4.
        Assert.Equal((2, 4), (BitConverter.ToInt32(multiclass), BitConverter.ToInt32(multiLabel)));
        using (var loaded = EfficientNetTransformer.Load(ML, new BinaryReader(new MemoryStream(multiLabel)), weights))
        {
            Assert.Equal(TaskKind.MultiLabel, loaded.Task);
            Assert.Equal(new[] { 0.25f, 0.5f, 0.75f }, loaded.Thresholds);
        }

        // A threshold that is no probability, framed with a right checksum (damage the checksum would not see), is refused.
        var fields = multiLabel[8..^32];
        var at = fields.AsSpan().LastIndexOf(BitConverter.GetBytes(0.75f)); // the thresholds come last but for the policy and the separator
        BitConverter.GetBytes(float.NaN).CopyTo(fields, at);
        using var framed = new MemoryStream();
        using (var writer = new BinaryWriter(framed, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(4);
            ChecksummedPayload.Write(writer, fields, weights);
        }
        framed.Position = 0;
        var error = Assert.Throws<EfficientNetException>(() => EfficientNetTransformer.Load(ML, new BinaryReader(framed), weights));
        Assert.Contains("threshold is not a probability", error.Message);
    }

    [Fact]
    public void A_zip_from_a_newer_format_says_to_upgrade()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var newer = ReplaceEntry(TinyModelZip(), "Model.key", content =>
        {
            BitConverter.GetBytes(EfficientNetTransformer.FormatVersion + 1).CopyTo(content, DescriptionStart(content));
            return content;
        });

        var error = TryLoad(newer, folder.File("newer.zip"));

        Assert.NotNull(error);
        Assert.Contains(folder.File("newer.zip"), error.Message);
        Assert.True(error.Message.Contains($"model format {EfficientNetTransformer.FormatVersion + 1}"), error.ToString());
        Assert.Contains("Upgrade the EfficientNet.MLNet package", error.Message);
    }

    [Fact]
    public void Weights_of_another_model_are_refused_by_checksum_and_by_size_before_building_the_network()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        byte[] otherWeights = null!, description = null!;
        ReplaceEntry(TinyModelZip(classes: 5), "Weights.safetensors", content => otherWeights = content);
        var mixed = ReplaceEntry(TinyModelZip(classes: 3), "Weights.safetensors", _ => otherWeights);
        ReplaceEntry(mixed, "Model.key", content => description = content[DescriptionStart(content)..]);

        var inZip = TryLoad(mixed, folder.File("mixed.zip"));
        // Format 1 had no checksum: there the declared layout's size is what refuses the weights.
        var fields = description[8..^32];
        using var formatOne = new BinaryReader(new MemoryStream(BitConverter.GetBytes(1).Concat(fields).ToArray()));
        var unchecked_ = Assert.Throws<EfficientNetException>(() => EfficientNetTransformer.Load(ML, formatOne, otherWeights));

        Assert.NotNull(inZip);
        Assert.Contains("SHA-256", inZip.Message);
        Assert.Contains("the weights do not belong to this model", unchecked_.Message);
    }

    [Fact]
    public void A_missing_file_or_a_file_that_is_not_a_zip_is_a_ModelFileException()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        File.WriteAllText(folder.File("notes.zip"), "not a zip");

        var missing = Assert.Throws<ModelFileException>(() => ML.Model.LoadEfficientNetModel(folder.File("none.zip"), out _));
        var text = Assert.Throws<ModelFileException>(() => ML.Model.LoadEfficientNetModel(folder.File("notes.zip"), out _));

        Assert.Contains("does not exist", missing.Message);
        Assert.Contains("notes.zip", text.Message);
        Assert.Contains("not a readable ML.NET model zip", text.Message);
    }
}

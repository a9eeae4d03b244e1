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

    [Fact]
    public void A_tensor_declaring_more_than_its_storage_is_refused_before_anything_is_allocated()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var honest = folder.File("honest.pth");
        var forged = folder.File("forged.pth");
        File.WriteAllBytes(honest, TorchSaveFile(rows: 3, columns: 4, storageFloats: 12));
        File.WriteAllBytes(forged, TorchSaveFile(rows: 100_000, columns: 100_000, storageFloats: 12)); // 40 GB over 48 bytes
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var refused = Assert.Throws<WeightsFormatException>(() => PyTorchStateDict.Read(forged));
        var elapsed = clock.Elapsed;
        var loaded = PyTorchStateDict.Read(honest);

        Assert.Contains("the tensor 'w' declares shape [100000, 100000] of Float32 (40,000,000,000 bytes) but its storage holds 48 bytes", refused.Message);
        Assert.Contains("forged.pth", refused.Message);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"took {elapsed}");
        using var w = loaded["w"];
        Assert.Equal(new long[] { 3, 4 }, w.shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), w.data<float>().ToArray());
    }

    [Fact]
    public void A_zip_bomb_is_refused_from_its_declared_sizes_without_inflating_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bomb = folder.File("bomb.pth");
        using (var file = File.Create(bomb))
        using (var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Create))
        {
            foreach (var (name, content) in new[] { ("archive/data.pkl", TorchSaveFile(3, 4, 12, pickleOnly: true)) })
                using (var entry = zip.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open())
                    entry.Write(content);
            using var data = zip.CreateEntry("archive/data/0", System.IO.Compression.CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 200; i++)
                data.Write(zeros); // 200 MB of zeros: about 200 KB deflated
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var refused = Assert.Throws<WeightsFormatException>(() => PyTorchStateDict.Read(bomb));

        Assert.True(new FileInfo(bomb).Length < 1_000_000, $"{new FileInfo(bomb).Length} bytes");
        Assert.Contains("its entries declare 209,715,", refused.Message);
        Assert.Contains("a zip bomb", refused.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}: it inflated the entry");
    }

    [Theory]
    [InlineData("classes")]      // torch.save({"model": ..., "classes": dataset.classes})
    [InlineData("class_names")]
    [InlineData("class_to_idx")] // ImageFolder's map, as PyTorch's transfer-learning tutorials save it
    public void The_class_names_a_checkpoint_keeps_are_read_in_the_classifiers_order(string key)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var checkpoint = folder.File("checkpoint.pth");
        var plain = folder.File("plain.pth");
        // Not in sorted order, and not in the order a dictionary would happen to list them.
        string[] names = ["square", "circle", "triangle", "cross"];
        File.WriteAllBytes(checkpoint, TorchSaveFile(3, 4, 12, classes: names, classesKey: key));
        File.WriteAllBytes(plain, TorchSaveFile(3, 4, 12));
        File.WriteAllLines(folder.File(EfficientNet.MLNet.Training.WeightsClassOrder.ClassesFile), ["a", "b", "c", "d"]);

        var found = EfficientNet.MLNet.Training.WeightsClassOrder.Find(checkpoint, entry: null, given: null);
        var beside = EfficientNet.MLNet.Training.WeightsClassOrder.Find(plain, entry: null, given: null);
        using var w = PyTorchStateDict.Read(checkpoint)["w"]; // the weights still load from the checkpoint's "model"

        var stale = EfficientNet.MLNet.Training.WeightsClassOrder.Find(checkpoint, entry: null, given: null, classCount: 5);
        Assert.Equal(names, found);   // the checkpoint's own names come before a classes.txt that happens to lie beside it
        Assert.Null(stale);           // names of another count than the classifier's rows are passed over
        Assert.Equal(["a", "b", "c", "d"], beside); // a file that keeps none: classes.txt
        Assert.Null(PyTorchStateDict.ClassNames(plain));
        Assert.Equal(new long[] { 3, 4 }, w.shape);
    }

    /// <summary>
    /// A torch.save zip written here opcode by opcode (pickle protocol 2, as torch.save writes it): one float32 tensor
    /// "w" of rows x columns, contiguous, over a storage "archive/data/0" of <paramref name="storageFloats"/> floats 0, 1, 2...
    /// </summary>
    /// <param name="classes">When given, a training checkpoint instead: {"model": the state_dict, <paramref name="classesKey"/>: the names}.</param>
    /// <param name="classesKey">"classes" or "class_names" (a list), or "class_to_idx" (a dict of names to their indices).</param>
    static byte[] TorchSaveFile(int rows, int columns, int storageFloats, bool pickleOnly = false, string[]? classes = null, string classesKey = "classes")
    {
        using var pickle = new MemoryStream();
        void Text(string s) => pickle.Write(System.Text.Encoding.ASCII.GetBytes(s));
        void Unicode(string s)
        {
            pickle.WriteByte((byte)'X');
            pickle.Write(BitConverter.GetBytes(s.Length));
            Text(s);
        }
        void Int(int value)
        {
            pickle.WriteByte((byte)'J');
            pickle.Write(BitConverter.GetBytes(value));
        }
        pickle.Write([0x80, 2]);                       // PROTO 2
        if (classes is not null)
        {
            pickle.WriteByte((byte)'}');               // EMPTY_DICT: the checkpoint
            Unicode("model");
        }
        pickle.WriteByte((byte)'}');                   // EMPTY_DICT
        Unicode("w");
        Text("ctorch._utils\n_rebuild_tensor_v2\n");    // GLOBAL
        pickle.WriteByte((byte)'(');                   // MARK: the arguments
        pickle.WriteByte((byte)'(');                   // MARK: the persistent id
        Unicode("storage");
        Text("ctorch\nFloatStorage\n");
        Unicode("0");
        Unicode("cpu");
        Int(storageFloats);
        pickle.WriteByte((byte)'t');                   // TUPLE
        pickle.WriteByte((byte)'Q');                   // BINPERSID
        Int(0);                                        // storage offset
        Int(rows); Int(columns); pickle.WriteByte(0x86); // the shape, TUPLE2
        Int(columns); Int(1); pickle.WriteByte(0x86);    // the strides
        pickle.WriteByte(0x89);                        // NEWFALSE: requires_grad
        Text("ccollections\nOrderedDict\n");
        pickle.WriteByte((byte)')');                   // EMPTY_TUPLE
        pickle.WriteByte((byte)'R');                   // REDUCE: OrderedDict(), the backward hooks
        pickle.WriteByte((byte)'t');                   // TUPLE
        pickle.WriteByte((byte)'R');                   // REDUCE: _rebuild_tensor_v2(...)
        pickle.WriteByte((byte)'s');                   // SETITEM
        if (classes is not null)
        {
            pickle.WriteByte((byte)'s');               // SETITEM: "model"
            Unicode(classesKey);
            var asMap = classesKey == "class_to_idx";
            pickle.WriteByte((byte)(asMap ? '}' : ']')); // EMPTY_DICT or EMPTY_LIST
            pickle.WriteByte((byte)'(');               // MARK
            for (var i = 0; i < classes.Length; i++)
            {
                Unicode(classes[i]);
                if (asMap)
                    Int(i);
            }
            pickle.WriteByte((byte)(asMap ? 'u' : 'e')); // SETITEMS or APPENDS
            pickle.WriteByte((byte)'s');               // SETITEM
        }
        pickle.WriteByte((byte)'.');                   // STOP
        if (pickleOnly)
            return pickle.ToArray();
        using var file = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var entry = zip.CreateEntry("archive/data.pkl", System.IO.Compression.CompressionLevel.NoCompression).Open())
                entry.Write(pickle.ToArray());
            using var data = zip.CreateEntry("archive/data/0", System.IO.Compression.CompressionLevel.NoCompression).Open();
            foreach (var value in Enumerable.Range(0, storageFloats))
                data.Write(BitConverter.GetBytes((float)value));
        }
        return file.ToArray();
    }
}

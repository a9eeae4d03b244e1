using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>Loads and saves a module's state_dict as safetensors, with torchvision's names.</summary>
public static class ModuleWeights
{
    /// <summary>
    /// Loads weights from a safetensors file (e.g. a torchvision state_dict, or timm's efficientnet_b0..b3 names,
    /// recognised by <c>conv_stem.weight</c> and mapped by <see cref="TimmNames"/>) into the module, by name.
    /// Everything is checked before anything is copied: on any error the module is unchanged.
    /// </summary>
    /// <param name="module">The module, e.g. an <see cref="EfficientNetModel"/>.</param>
    /// <param name="path">The safetensors file.</param>
    /// <param name="mode">Strict by default; <see cref="WeightLoadMode.KeepNewClassifier"/> for transfer learning.</param>
    /// <exception cref="WeightsFormatException">The file is malformed or holds NaN or infinite values.</exception>
    /// <exception cref="WeightsMismatchException">Names or shapes do not fit; the message lists them.</exception>
    public static WeightLoadReport LoadSafetensors(this nn.Module module, string path, WeightLoadMode mode = WeightLoadMode.Strict)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Load(module, SafetensorsFile.Open(path), mode);
    }

    /// <summary>Loads weights from safetensors bytes held in memory (e.g. an entry of a model zip), strictly.</summary>
    /// <param name="module">The module.</param>
    /// <param name="data">The safetensors bytes.</param>
    /// <param name="source">A name for error messages.</param>
    public static WeightLoadReport LoadFromBytes(this nn.Module module, byte[] data, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Load(module, SafetensorsFile.FromBytes(data, source), WeightLoadMode.Strict);
    }

    /// <summary>Writes the module's state_dict as safetensors to a stream.</summary>
    public static void SaveToStream(this nn.Module module, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(module);
        SafetensorsWriter.Write(stream, module.state_dict().Select(pair => (pair.Key, pair.Value)));
    }

    static WeightLoadReport Load(nn.Module module, SafetensorsFile file, WeightLoadMode mode)
    {
        var path = file.Path;
        var fileNameOf = TorchvisionToFileNames(module, file.Entries.Select(e => e.Name).ToList());
        var shapes = file.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        var weightShapes = fileNameOf.ToDictionary(p => p.Key, p => shapes[p.Value], StringComparer.Ordinal);
        var plan = Plan(module, weightShapes, mode, path);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in plan.Loaded)
            {
                var tensor = file.ReadTensor(fileNameOf[name]);
                tensors.Add(name, tensor);
                RequireFinite(name, tensor, path, "safetensors");
            }
            Copy(module, tensors);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
        return plan;
    }

    /// <summary>
    /// Loads a PyTorch <c>torch.save</c> file (.pth, .pt): a state_dict in torchvision's (or timm's) names, or a training
    /// checkpoint holding one under "state_dict", "model" or "model_state_dict"; DistributedDataParallel's "module."
    /// prefix is removed. The same checks as <see cref="LoadSafetensors"/>: nothing is copied unless everything fits.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="path">The torch.save file.</param>
    /// <param name="mode">Strict by default; <see cref="WeightLoadMode.KeepNewClassifier"/> for transfer learning.</param>
    /// <param name="movingAverage">From a training checkpoint, load the moving average of the weights ("model_ema" as
    /// torchvision's train.py saves it, "state_dict_ema" as timm's does), usually the better weights, instead of the weights.</param>
    /// <exception cref="WeightsFormatException">Not a torch.save file, no state_dict (or moving average) in it, or NaN or infinite values.</exception>
    /// <exception cref="WeightsMismatchException">Names or shapes do not fit; the message lists them.</exception>
    public static WeightLoadReport LoadPyTorch(this nn.Module module, string path, WeightLoadMode mode = WeightLoadMode.Strict, bool movingAverage = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        var tensors = PyTorchStateDict.Read(path, movingAverage);
        try
        {
            return LoadPyTorchTensors(module, tensors, path, mode);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>Loads tensors already read from the torch.save file <paramref name="path"/> (which names it in errors).</summary>
    internal static WeightLoadReport LoadPyTorchTensors(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string path, WeightLoadMode mode)
    {
        foreach (var (name, tensor) in tensors)
            RequireFinite(name, tensor, path, PyTorchStateDict.Format);
        return module.LoadStateDict(tensors, mode, path);
    }

    static void RequireFinite(string name, Tensor tensor, string path, string format)
    {
        using var scope = NewDisposeScope();
        if (tensor.is_floating_point() && !tensor.isfinite().all().item<bool>())
            throw new WeightsFormatException(path, $"the tensor '{name}' holds NaN or infinite values", format, null);
    }

    /// <summary>
    /// Loads weights by the file's kind: safetensors (.safetensors), or PyTorch's torch.save format (.pth, .pt, .bin,
    /// .ckpt, or any file that starts like a zip).
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="path">The weights file.</param>
    /// <param name="mode">Strict by default; <see cref="WeightLoadMode.KeepNewClassifier"/> for transfer learning.</param>
    /// <param name="movingAverage">A training checkpoint's moving average of the weights instead (torch.save files only).</param>
    public static WeightLoadReport LoadWeights(this nn.Module module, string path, WeightLoadMode mode = WeightLoadMode.Strict, bool movingAverage = false)
    {
        if (IsPyTorchFile(path))
            return module.LoadPyTorch(path, mode, movingAverage);
        if (movingAverage)
            throw new WeightsFormatException(path, "a safetensors file holds one set of weights; a moving average (EMA) comes from a torch.save training checkpoint", "safetensors", null);
        return module.LoadSafetensors(path, mode);
    }

    /// <summary>Whether the file is a torch.save file rather than safetensors: by extension, else by its zip signature.</summary>
    public static bool IsPyTorchFile(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension == ".safetensors") return false;
        if (extension is ".pth" or ".pt" or ".bin" or ".ckpt") return true;
        if (!File.Exists(path)) return false;
        Span<byte> start = stackalloc byte[2];
        using var stream = File.OpenRead(path);
        return stream.Read(start) == 2 && start[0] == (byte)'P' && start[1] == (byte)'K';
    }

    /// <summary>Loads named tensors (e.g. from another model) into the module, with the same checks.</summary>
    public static WeightLoadReport LoadStateDict(this nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, WeightLoadMode mode = WeightLoadMode.Strict, string source = "the given tensors")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        var fileNameOf = TorchvisionToFileNames(module, tensors.Keys.ToList());
        var plan = Plan(module, fileNameOf.ToDictionary(p => p.Key, p => tensors[p.Value].shape, StringComparer.Ordinal), mode, source);
        Copy(module, plan.Loaded.ToDictionary(name => name, name => tensors[fileNameOf[name]], StringComparer.Ordinal));
        return plan;
    }

    // torchvision name -> the name in the weights: the same, or timm's for an EfficientNetModel given timm names.
    static Dictionary<string, string> TorchvisionToFileNames(nn.Module module, IReadOnlyList<string> names)
    {
        if (module is not EfficientNetModel model || !TimmNames.AreTimm(names))
            return names.ToDictionary(n => n, n => n, StringComparer.Ordinal);
        var timm = TimmNames.ToTorchvision(model.Architecture);
        return names.ToDictionary(n => timm.TryGetValue(n, out var torchvision) ? torchvision : n, n => n, StringComparer.Ordinal);
    }

    /// <summary>Saves the module's state_dict (parameters and buffers, torchvision names) as safetensors, atomically.</summary>
    /// <param name="module">The module.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static void SaveSafetensors(this nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        SafetensorsWriter.Write(path, module.state_dict().Select(pair => (pair.Key, pair.Value)), metadata);
    }

    static WeightLoadReport Plan(nn.Module module, IReadOnlyDictionary<string, long[]> weights, WeightLoadMode mode, string source)
    {
        var model = module.state_dict().ToDictionary(pair => pair.Key, pair => pair.Value.shape, StringComparer.Ordinal);
        var comparison = WeightComparison.Of(model, weights);
        if (comparison.IsExact)
            return new WeightLoadReport(source, comparison.Matching, Array.Empty<string>());
        if (mode == WeightLoadMode.Strict)
            throw new WeightsMismatchException(source, comparison,
                "Check the version (b0..b7, v2_s, v2_m, v2_l) and class count, or load with WeightLoadMode.KeepNewClassifier to keep a new classifier.");

        static bool InClassifier(string name) => name.StartsWith(EfficientNetModel.ClassifierPrefix, StringComparison.Ordinal);
        var backbone = new WeightComparison(
            comparison.Matching,
            comparison.Missing.Where(n => !InClassifier(n)).ToList(),
            comparison.Unexpected.Where(n => !InClassifier(n)).ToList(),
            comparison.ShapeMismatched.Where(m => !InClassifier(m.Name)).ToList());
        if (!backbone.IsExact)
            throw new WeightsMismatchException(source, backbone,
                "The backbone differs, so these weights belong to another version (b0..b7, v2_s, v2_m, v2_l) or architecture.");
        var kept = model.Keys.Where(InClassifier).Where(n => !comparison.Matching.Contains(n)).ToList();
        return new WeightLoadReport(source, comparison.Matching, kept);
    }

    static void Copy(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var noGrad = no_grad();
        foreach (var (name, target) in module.state_dict())
            if (tensors.TryGetValue(name, out var source))
                target.copy_(source);
    }
}

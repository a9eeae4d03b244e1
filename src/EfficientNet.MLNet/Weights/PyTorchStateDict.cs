using System.Collections;
using System.IO.Compression;
using System.IO.Hashing;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// Reads a PyTorch <c>torch.save</c> file (.pth, .pt): a state_dict, or a training checkpoint holding one under
/// "state_dict", "model" or "model_state_dict" (torchrun scripts save <c>{"epoch": ..., "model": ...}</c>; torchvision's
/// reference train.py adds "model_ema", timm's train.py "state_dict_ema", the exponential moving average of the
/// weights, read instead when asked for), with the "module." prefix of DistributedDataParallel and AveragedModel
/// removed (and AveragedModel's "n_averaged" counter left out). Every entry of the zip is first checked against its CRC-32
/// (.NET's zip reader does not) and its declared size, so a damaged file is refused rather than loaded with changed
/// values and a zip bomb is stopped. The pickle is then read by TorchSharp.PyBridge's unpickler (Razorvine.Pickle: it
/// builds data, it never runs code from the file) as descriptions of tensors, each checked against its storage before
/// it is allocated (<see cref="TensorDescription"/>).
/// </summary>
internal static class PyTorchStateDict
{
    /// <summary>How errors name the format.</summary>
    public const string Format = "PyTorch state_dict (torch.save)";
    static readonly string[] NestedKeys = { "state_dict", "model", "model_state_dict" };
    static readonly string[] AverageKeys = { "model_ema", "state_dict_ema" };

    /// <summary>
    /// How much larger than the file its entries may be once inflated: torch.save stores them uncompressed (about 1), a
    /// re-zipped file of float weights deflates to about 0.9; a zip bomb declares (or inflates to) hundreds of times more.
    /// </summary>
    const long MaxExpansion = 16;

    /// <summary>The named tensors; the caller disposes them.</summary>
    /// <param name="path">The file.</param>
    /// <param name="movingAverage">Read the checkpoint's moving average of the weights ("model_ema" or "state_dict_ema") instead of its weights.</param>
    /// <exception cref="WeightsFormatException">Not a torch.save file, no state_dict in it, a tensor larger than its
    /// storage, or no moving average when one is asked for.</exception>
    public static Dictionary<string, Tensor> Read(string path, bool movingAverage = false)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The weights file '{path}' does not exist.", path);
        VerifyChecksums(path);
        // The unpickler describes each tensor (dtype, shape, strides, its storage entry) without reading it; each one of
        // the state_dict is checked against the size of its storage before anything is allocated for it. Whatever else
        // the file holds (optimizer state, an EMA copy) is never read.
        using var stream = File.OpenRead(path); // the unpickler's: its descriptions read their tensors from it later
        using var zip = ZipFile.OpenRead(path);  // the entries' sizes, by the index the descriptions give
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true, skipTensorRead: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new WeightsFormatException(path, $"it could not be unpickled ({e.GetType().Name}: {e.Message})", Format, e);
        }
        var keys = string.Join(", ", table.Keys.Cast<object>().Take(10));
        var stateDict = movingAverage
            ? AverageKeys.Select(key => table[key] as Hashtable).FirstOrDefault(IsStateDict)
              ?? throw new WeightsFormatException(path, $"it holds no moving average of the weights: expected a training checkpoint with {string.Join(" or ", AverageKeys)} (torchvision's and timm's train.py with EMA on); found the keys {keys}. Load its weights instead (no EMA option)", Format, null)
            : StateDictIn(table)
              ?? throw new WeightsFormatException(path, $"it holds no state_dict: expected names mapped to tensors, or a checkpoint with one of {string.Join(", ", NestedKeys)}; found the keys {keys}", Format, null);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = NewDisposeScope(); // the reader's intermediate tensors; only the state_dict's leave it
        try
        {
            foreach (var entry in stateDict.Cast<DictionaryEntry>().Where(e => (string)e.Key != "n_averaged"))
                tensors.Add((string)entry.Key, TensorDescription.Of(entry.Value!).Read(zip, (string)entry.Key, path).DetachFromDisposeScope());
        }
        catch
        {
            foreach (var tensor in tensors.Values)
                tensor.Dispose();
            throw;
        }
        const string parallelPrefix = "module.";
        return tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(parallelPrefix, StringComparison.Ordinal))
            ? tensors.ToDictionary(p => p.Key[parallelPrefix.Length..], p => p.Value, StringComparer.Ordinal)
            : tensors;
    }

    /// <summary>Where training checkpoints keep their class names: a list in the classifier's order, or torchvision's ImageFolder map of names to indices.</summary>
    static readonly string[] ClassListKeys = { "classes", "class_names" };
    const string ClassIndexKey = "class_to_idx";

    /// <summary>
    /// The class names a training checkpoint keeps beside its weights, in the classifier's order: a list of names under
    /// "classes" or "class_names" (<c>torch.save({"model": ..., "classes": dataset.classes})</c>), or ImageFolder's
    /// "class_to_idx" map (as PyTorch's transfer-learning tutorials save it); null when it keeps none or is no torch.save
    /// checkpoint. Only the pickle is read (no tensor), after <see cref="Read"/> or on its own.
    /// </summary>
    public static IReadOnlyList<string>? ClassNames(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true, skipTensorRead: true); // the descriptions are never read
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // not a checkpoint whose names can be read: Read says why when the weights are loaded
        }
        foreach (var key in ClassListKeys)
            if (table[key] is IEnumerable list and not string)
            {
                var names = list.Cast<object?>().ToList();
                if (names.Count > 0 && names.All(n => n is string))
                    return names.Cast<string>().ToList();
            }
        if (table[ClassIndexKey] is Hashtable map && map.Count > 0)
        {
            var pairs = map.Cast<DictionaryEntry>().Where(e => e.Key is string && e.Value is int or long).Select(e => (Name: (string)e.Key, Index: Convert.ToInt64(e.Value))).OrderBy(p => p.Index).ToList();
            if (pairs.Count == map.Count && pairs.Select(p => p.Index).SequenceEqual(Enumerable.Range(0, pairs.Count).Select(i => (long)i)))
                return pairs.Select(p => p.Name).ToList();
        }
        return null;
    }

    // Every entry inflated once, against its CRC-32 and its declared size: a bound on the declared sizes first (a zip
    // bomb declares gigabytes in kilobytes), then no entry read past its declared size (one that inflates further is
    // stopped there).
    static void VerifyChecksums(string path)
    {
        var fileLength = new FileInfo(path).Length;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var declared = zip.Entries.Sum(e => e.Length);
            if (declared > MaxExpansion * fileLength + (1 << 20))
                throw new WeightsFormatException(path, $"its entries declare {declared:N0} bytes uncompressed in a file of {fileLength:N0} bytes (a zip bomb, or damaged; torch.save stores its entries uncompressed)", Format, null);
            var buffer = new byte[1 << 16];
            foreach (var entry in zip.Entries)
            {
                var crc = new Crc32();
                long read = 0;
                using (var content = entry.Open())
                {
                    int count;
                    while ((count = content.Read(buffer, 0, (int)Math.Min(buffer.Length, entry.Length - read + 1))) > 0)
                    {
                        read += count;
                        if (read > entry.Length)
                            throw new WeightsFormatException(path, $"the entry '{entry.FullName}' inflates past its declared {entry.Length:N0} bytes: the file is damaged (or a zip bomb)", Format, null);
                        crc.Append(buffer.AsSpan(0, count));
                    }
                }
                if (read != entry.Length || crc.GetCurrentHashAsUInt32() != entry.Crc32)
                    throw new WeightsFormatException(path, $"the entry '{entry.FullName}' does not match its CRC-32 checksum: the file is damaged", Format, null);
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not FileNotFoundException)
        {
            throw new WeightsFormatException(path, $"it is not a zip-format torch.save file (PyTorch 1.6 or later) or it is damaged ({e.Message})", Format, e);
        }
    }

    static bool IsStateDict(Hashtable? table) => table is { Count: > 0 } && table.Cast<DictionaryEntry>().All(e => e.Key is string && TensorDescription.Is(e.Value));

    static Hashtable? StateDictIn(Hashtable table) =>
        IsStateDict(table) ? table : NestedKeys.Select(key => table[key] as Hashtable).FirstOrDefault(IsStateDict);
}

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
/// (.NET's zip reader does not), so a damaged file is refused rather than loaded with changed values. The pickle is
/// then read by TorchSharp.PyBridge's unpickler (Razorvine.Pickle: it builds data, it never runs code from the file).
/// </summary>
internal static class PyTorchStateDict
{
    /// <summary>How errors name the format.</summary>
    public const string Format = "PyTorch state_dict (torch.save)";
    static readonly string[] NestedKeys = { "state_dict", "model", "model_state_dict" };
    static readonly string[] AverageKeys = { "model_ema", "state_dict_ema" };

    /// <summary>The named tensors; the caller disposes them.</summary>
    /// <param name="path">The file.</param>
    /// <param name="movingAverage">Read the checkpoint's moving average of the weights ("model_ema" or "state_dict_ema") instead of its weights.</param>
    /// <exception cref="WeightsFormatException">Not a torch.save file, no state_dict in it, or no moving average when one is asked for.</exception>
    public static Dictionary<string, Tensor> Read(string path, bool movingAverage = false)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The weights file '{path}' does not exist.", path);
        VerifyChecksums(path);
        // Everything the unpickler makes (its intermediate tensors, and whatever else the file holds: optimizer
        // state, an EMA copy...) is released with this scope; only the state_dict's tensors leave it.
        using var scope = NewDisposeScope();
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: false, skipTensorRead: false);
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
        var tensors = stateDict.Cast<DictionaryEntry>().Where(e => (string)e.Key != "n_averaged")
            .ToDictionary(e => (string)e.Key, e => ((Tensor)e.Value!).DetachFromDisposeScope(), StringComparer.Ordinal);
        const string parallelPrefix = "module.";
        return tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(parallelPrefix, StringComparison.Ordinal))
            ? tensors.ToDictionary(p => p.Key[parallelPrefix.Length..], p => p.Value, StringComparer.Ordinal)
            : tensors;
    }

    static void VerifyChecksums(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                var crc = new Crc32();
                using (var content = entry.Open())
                    crc.Append(content);
                if (crc.GetCurrentHashAsUInt32() != entry.Crc32)
                    throw new WeightsFormatException(path, $"the entry '{entry.FullName}' does not match its CRC-32 checksum: the file is damaged", Format, null);
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not FileNotFoundException)
        {
            throw new WeightsFormatException(path, $"it is not a zip-format torch.save file (PyTorch 1.6 or later) or it is damaged ({e.Message})", Format, e);
        }
    }

    static bool IsStateDict(Hashtable? table) => table is { Count: > 0 } && table.Cast<DictionaryEntry>().All(e => e.Key is string && e.Value is Tensor);

    static Hashtable? StateDictIn(Hashtable table) =>
        IsStateDict(table) ? table : NestedKeys.Select(key => table[key] as Hashtable).FirstOrDefault(IsStateDict);
}

using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// Reads a PyTorch <c>torch.save</c> file (.pth, .pt): a state_dict, or a training checkpoint holding one under
/// "state_dict", "model" or "model_state_dict" (torchrun scripts save <c>{"epoch": ..., "model": ...}</c>), with the
/// "module." prefix of DistributedDataParallel removed. The pickle is read by TorchSharp.PyBridge's unpickler
/// (Razorvine.Pickle: it builds data, it never runs code from the file).
/// </summary>
internal static class PyTorchStateDict
{
    const string Format = "PyTorch state_dict (torch.save)";
    static readonly string[] NestedKeys = { "state_dict", "model", "model_state_dict" };

    /// <summary>The named tensors; the caller disposes them.</summary>
    /// <exception cref="WeightsFormatException">Not a torch.save file, or no state_dict in it.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The weights file '{path}' does not exist.", path);
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
        var stateDict = StateDictIn(table)
            ?? throw new WeightsFormatException(path, $"it holds no state_dict: expected names mapped to tensors, or a checkpoint with one of {string.Join(", ", NestedKeys)}; found the keys {string.Join(", ", table.Keys.Cast<object>().Take(10))}", Format, null);
        var tensors = stateDict.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!, StringComparer.Ordinal);
        const string parallelPrefix = "module.";
        return tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(parallelPrefix, StringComparison.Ordinal))
            ? tensors.ToDictionary(p => p.Key[parallelPrefix.Length..], p => p.Value, StringComparer.Ordinal)
            : tensors;
    }

    static Hashtable? StateDictIn(Hashtable table)
    {
        static bool IsStateDict(Hashtable t) => t.Count > 0 && t.Cast<DictionaryEntry>().All(e => e.Key is string && e.Value is Tensor);
        if (IsStateDict(table))
            return table;
        return NestedKeys.Select(key => table[key] as Hashtable).FirstOrDefault(nested => nested is not null && IsStateDict(nested));
    }
}

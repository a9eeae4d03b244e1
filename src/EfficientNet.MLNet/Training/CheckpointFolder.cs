using System.Text.Json;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// A folder of training checkpoints. After each epoch it writes the weights, the optimizer state and (with early
/// stopping) the best epoch's weights, each atomically, and then checkpoint.json, which names them: the manifest is
/// the commit point, so a process killed at any moment leaves the previous complete checkpoint in place. Files of
/// older epochs are deleted once the new manifest is written.
/// </summary>
internal sealed class CheckpointFolder
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "checkpoint.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly CheckpointRun run;

    public CheckpointFolder(string directory, CheckpointRun run, bool resume)
    {
        Directory = Path.GetFullPath(directory);
        this.run = run;
        Resume = resume;
    }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    /// <summary>Whether training continues from the folder's checkpoint (when there is one).</summary>
    public bool Resume { get; }

    string ManifestPath => Path.Combine(Directory, ManifestName);

    /// <summary>
    /// Puts the checkpoint's weights and optimizer state into <paramref name="model"/> and <paramref name="optimizer"/>;
    /// returns the checkpoint and a copy of the best epoch's weights (or null), or null when the folder has none.
    /// </summary>
    /// <exception cref="EfficientNetException">The checkpoint is damaged, newer than this library, or from another run.</exception>
    public (TrainingCheckpoint Checkpoint, Dictionary<string, Tensor>? BestWeights)? Load(EfficientNetModel model, optim.Optimizer optimizer)
    {
        if (!File.Exists(ManifestPath))
            return null;
        var checkpoint = ReadManifest();
        if (checkpoint.FormatVersion > TrainingCheckpoint.CurrentFormatVersion)
            throw new EfficientNetException($"The checkpoint {ManifestPath} has format version {checkpoint.FormatVersion}; this library reads up to {TrainingCheckpoint.CurrentFormatVersion}. Resume with the newer EfficientNet.MLNet that wrote it.");
        var differences = run.DifferencesFrom(checkpoint.Run);
        if (differences.Count > 0)
            throw new EfficientNetException($"The checkpoint in {Directory} is from a different run ({string.Join("; ", differences)}). Resume with the same data and options, or use another checkpoint folder.");

        Dictionary<string, Tensor>? best = null;
        if (checkpoint.BestWeightsFile is { } bestFile)
        {
            model.LoadSafetensors(Existing(bestFile));
            best = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        }
        try
        {
            model.LoadSafetensors(Existing(checkpoint.WeightsFile));
            LoadOptimizer(optimizer, Existing(checkpoint.OptimizerFile));
        }
        catch
        {
            if (best is not null)
                foreach (var tensor in best.Values) tensor.Dispose();
            throw;
        }
        return (checkpoint, best);
    }

    /// <summary>Writes the state after <paramref name="epoch"/>; the previous checkpoint stays valid until the manifest is replaced.</summary>
    public void Save(int epoch, long step, IReadOnlyList<EpochMetrics> history, int bestEpoch, double? bestValue, bool stopped,
        EfficientNetModel model, optim.Optimizer optimizer, IReadOnlyDictionary<string, Tensor>? bestWeights)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var weightsFile = $"epoch-{epoch:D4}.safetensors";
        var optimizerFile = $"epoch-{epoch:D4}.optimizer.bin";
        model.SaveSafetensors(Path.Combine(Directory, weightsFile));
        AtomicFile.Write(Path.Combine(Directory, optimizerFile), temporary =>
        {
            using var stream = File.Create(temporary);
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
                Helper(optimizer).save_state_dict(writer);
            stream.Flush(flushToDisk: true);
        });
        string? bestFile = null;
        if (bestWeights is not null)
        {
            bestFile = $"best-epoch-{bestEpoch:D4}.safetensors";
            if (!File.Exists(Path.Combine(Directory, bestFile)))
                SafetensorsWriter.Write(Path.Combine(Directory, bestFile), bestWeights.Select(p => (p.Key, p.Value)));
        }
        var checkpoint = new TrainingCheckpoint(TrainingCheckpoint.CurrentFormatVersion, run, epoch, step, history, bestEpoch, bestValue, stopped,
            weightsFile, optimizerFile, bestFile);
        AtomicFile.Write(ManifestPath, temporary =>
        {
            using var stream = File.Create(temporary);
            JsonSerializer.Serialize(stream, checkpoint, Json);
            stream.Flush(flushToDisk: true);
        });
        DeleteAllBut(weightsFile, optimizerFile, bestFile);
    }

    TrainingCheckpoint ReadManifest()
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingCheckpoint>(File.ReadAllBytes(ManifestPath), Json)
                   ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new EfficientNetException($"The checkpoint manifest {ManifestPath} is damaged ({e.Message}). Delete the checkpoint folder to start over.", e);
        }
    }

    string Existing(string file)
    {
        var path = Path.Combine(Directory, Path.GetFileName(file));
        if (!File.Exists(path))
            throw new EfficientNetException($"The checkpoint {ManifestPath} names {file}, which is missing. Delete the checkpoint folder to start over.");
        return path;
    }

    static void LoadOptimizer(optim.Optimizer optimizer, string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            Helper(optimizer).load_state_dict(reader);
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException($"{reader.BaseStream.Length - reader.BaseStream.Position} bytes were left over");
        }
        catch (Exception e) when (e is not EfficientNetException)
        {
            throw new EfficientNetException($"The optimizer state {path} could not be read ({e.Message}). Delete the checkpoint folder to start over.", e);
        }
    }

    static OptimizerHelper Helper(optim.Optimizer optimizer) => optimizer as OptimizerHelper
        ?? throw new InvalidOperationException($"{optimizer.GetType().Name} cannot save its state.");

    // Our own files only: the epoch files, best-epoch files and the temporary files of an interrupted write.
    void DeleteAllBut(params string?[] keep)
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            var ours = name.StartsWith("epoch-", StringComparison.Ordinal) || name.StartsWith("best-epoch-", StringComparison.Ordinal)
                       || (name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal) &&
                           (name.StartsWith(".epoch-", StringComparison.Ordinal) || name.StartsWith(".best-epoch-", StringComparison.Ordinal) || name.StartsWith("." + ManifestName, StringComparison.Ordinal)));
            if (ours && !keep.Contains(name))
                File.Delete(path);
        }
    }
}

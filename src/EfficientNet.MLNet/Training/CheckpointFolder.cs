using System.Text.Json;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// A folder of training checkpoints, owned by one run at a time. After each epoch it writes the weights, the optimizer
/// state, (with early stopping) the best epoch's weights and (with ModelEma) the moving average, each atomically and named after the run's id, and then
/// checkpoint.json, which names them: the manifest is the commit point, so a process killed at any moment leaves the
/// previous complete checkpoint in place. Then the run's files of older epochs are deleted; files the run did not
/// write are never touched. A fresh run refuses a folder holding another run's checkpoint unless told to overwrite it.
/// </summary>
internal sealed class CheckpointFolder
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "checkpoint.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly RunFingerprint run;
    private readonly bool resume, overwrite;
    private string runId = NewRunId();

    public CheckpointFolder(string directory, RunFingerprint run, bool resume, bool overwrite)
    {
        Directory = Path.GetFullPath(directory);
        this.run = run;
        this.resume = resume;
        this.overwrite = overwrite;
    }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    string ManifestPath => Path.Combine(Directory, ManifestName);

    /// <summary>
    /// Makes the folder this run's. Resuming: puts the checkpoint's weights and optimizer state into
    /// <paramref name="model"/> and <paramref name="optimizer"/> and returns its state (null when the folder has no
    /// checkpoint yet). Starting afresh: refuses another run's checkpoint, or with overwrite deletes its files.
    /// </summary>
    /// <exception cref="EfficientNetException">Another run's checkpoint (fresh run), or a damaged, newer or different run's checkpoint (resume).</exception>
    public TrainingState? Start(EfficientNetModel model, optim.Optimizer optimizer)
    {
        if (!File.Exists(ManifestPath))
            return null;
        var checkpoint = ReadManifest();
        if (!resume)
        {
            if (!overwrite)
                throw new EfficientNetException($"The checkpoint folder {Directory} holds the checkpoint of another run (epoch {checkpoint.State.Epoch} of {checkpoint.Run.Epochs}, EfficientNet-{checkpoint.Run.Version}). Set ResumeFromCheckpoint to continue it, OverwriteCheckpoint to start afresh there (deleting that run's files), or choose another CheckpointDirectory.");
            foreach (var file in checkpoint.Files)
                File.Delete(Path.Combine(Directory, Path.GetFileName(file)));
            File.Delete(ManifestPath);
            return null;
        }
        var differences = run.DifferencesFrom(checkpoint.Run);
        if (differences.Count > 0)
            throw new EfficientNetException($"The checkpoint in {Directory} is from a different run ({string.Join("; ", differences)}). Resume with the same data and options, or use another checkpoint folder.");

        runId = checkpoint.RunId;
        var state = checkpoint.State;
        try
        {
            // The model reads each weights file; the extra ones are copied out before the last load puts its weights back.
            Dictionary<string, Tensor> Read(string file)
            {
                model.LoadSafetensors(Existing(file));
                return TrainingState.Copy(model.state_dict());
            }
            if (checkpoint.BestWeightsFile is { } bestFile)
                state.ReplaceBestWeights(Read(bestFile));
            if (checkpoint.AverageWeightsFile is { } averageFile)
                state.ReplaceAverageWeights(Read(averageFile));
            model.LoadSafetensors(Existing(checkpoint.WeightsFile));
            LoadOptimizer(optimizer, Existing(checkpoint.OptimizerFile));
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>Writes the state after its last epoch; the previous checkpoint stays valid until the manifest is replaced.</summary>
    public void Save(TrainingState state, EfficientNetModel model, optim.Optimizer optimizer)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var weightsFile = $"{runId}-epoch-{state.Epoch:D4}.safetensors";
        var optimizerFile = $"{runId}-epoch-{state.Epoch:D4}.optimizer.bin";
        model.SaveSafetensors(Path.Combine(Directory, weightsFile));
        AtomicFile.Write(Path.Combine(Directory, optimizerFile), temporary =>
        {
            using var stream = File.Create(temporary);
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
                Helper(optimizer).save_state_dict(writer);
            stream.Flush(flushToDisk: true);
        });
        string? bestFile = null;
        if (state.BestWeights is { } bestWeights)
        {
            // Written once per best epoch (the run's own file: the run id is in its name).
            bestFile = $"{runId}-best-epoch-{state.BestEpoch:D4}.safetensors";
            if (!File.Exists(Path.Combine(Directory, bestFile)))
                SafetensorsWriter.Write(Path.Combine(Directory, bestFile), bestWeights.Select(p => (p.Key, p.Value)));
        }
        string? averageFile = null;
        if (state.AverageWeights is { } averageWeights)
        {
            averageFile = $"{runId}-epoch-{state.Epoch:D4}.average.safetensors";
            SafetensorsWriter.Write(Path.Combine(Directory, averageFile), averageWeights.Select(p => (p.Key, p.Value)));
        }
        var checkpoint = new TrainingCheckpoint(TrainingCheckpoint.CurrentFormatVersion, state.Epoch, runId, run, state, weightsFile, optimizerFile, bestFile, averageFile);
        AtomicFile.Write(ManifestPath, temporary =>
        {
            using var stream = File.Create(temporary);
            JsonSerializer.Serialize(stream, checkpoint, Json);
            stream.Flush(flushToDisk: true);
        });
        DeleteRunFilesBut(checkpoint.Files.ToHashSet());
    }

    TrainingCheckpoint ReadManifest()
    {
        TrainingCheckpoint? checkpoint;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(ManifestPath));
            var format = document.RootElement.TryGetProperty("formatVersion", out var version) && version.TryGetInt32(out var number) ? number : 0;
            if (format > TrainingCheckpoint.CurrentFormatVersion)
                throw new EfficientNetException($"The checkpoint {ManifestPath} has format version {format}; this library reads up to {TrainingCheckpoint.CurrentFormatVersion}. Resume with the newer EfficientNet.MLNet that wrote it.");
            if (format < TrainingCheckpoint.CurrentFormatVersion)
                throw new EfficientNetException($"The checkpoint {ManifestPath} has format version {format}, written by an older EfficientNet.MLNet; this version cannot resume it. Start afresh (OverwriteCheckpoint, or another CheckpointDirectory).");
            checkpoint = document.RootElement.Deserialize<TrainingCheckpoint>(Json);
        }
        catch (JsonException e)
        {
            throw new EfficientNetException($"The checkpoint manifest {ManifestPath} is damaged ({e.Message}). Delete the checkpoint folder to start over.", e);
        }
        if (checkpoint is null || string.IsNullOrEmpty(checkpoint.RunId) || checkpoint.Run is null || checkpoint.State is null || checkpoint.WeightsFile is null || checkpoint.OptimizerFile is null)
            throw new EfficientNetException($"The checkpoint manifest {ManifestPath} is damaged (fields are missing). Delete the checkpoint folder to start over.");
        return checkpoint;
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

    // The run's own files only (named after its id), and the temporary files of interrupted writes of them or of the
    // manifest (the folder's manifest is this run's now).
    void DeleteRunFilesBut(IReadOnlySet<string> keep)
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            var temporary = name.EndsWith(".tmp", StringComparison.Ordinal);
            var ours = name.StartsWith(runId + "-", StringComparison.Ordinal)
                       || (temporary && (name.StartsWith("." + runId + "-", StringComparison.Ordinal) || name.StartsWith("." + ManifestName + ".", StringComparison.Ordinal)));
            if (ours && !keep.Contains(name))
                File.Delete(path);
        }
    }

    static string NewRunId() => Guid.NewGuid().ToString("N")[..12];
}

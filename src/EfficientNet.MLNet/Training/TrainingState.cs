using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Where a training run stands after each finished epoch: the one record the loop updates and a checkpoint saves
/// whole (the best epoch's weights and the moving average go to files of their own). The random state is not part of it: it is derived
/// from the seed and the epoch (<see cref="EpochRandom"/>).
/// </summary>
internal sealed class TrainingState : IDisposable
{
    /// <summary>The metrics of every finished epoch.</summary>
    public List<EpochMetrics> History { get; init; } = new();

    /// <summary>Optimizer steps taken (drives the learning-rate schedule).</summary>
    public long Step { get; set; }

    /// <summary>Early stopping: the best epoch so far (0: none yet).</summary>
    public int BestEpoch { get; set; }

    /// <summary>Early stopping: the watched metric's value at <see cref="BestEpoch"/>.</summary>
    public double? BestValue { get; set; }

    /// <summary>Early stopping decided to stop.</summary>
    public bool Stopped { get; set; }

    /// <summary>Early stopping: a copy of the best epoch's weights (owned; saved by a checkpoint as a file of its own).</summary>
    [JsonIgnore]
    public Dictionary<string, Tensor>? BestWeights { get; private set; }

    /// <summary>With ModelEma: the moving average of the weights (owned; saved by a checkpoint as a file of its own).</summary>
    [JsonIgnore]
    public Dictionary<string, Tensor>? AverageWeights { get; private set; }

    /// <summary>Takes ownership of <paramref name="weights"/> as the moving average, disposing the previous one.</summary>
    public void ReplaceAverageWeights(Dictionary<string, Tensor>? weights)
    {
        if (AverageWeights is not null)
            foreach (var tensor in AverageWeights.Values) tensor.Dispose();
        AverageWeights = weights;
    }

    /// <summary>Epochs finished.</summary>
    [JsonIgnore]
    public int Epoch => History.Count;

    /// <summary>Records <paramref name="epoch"/> as the best, with a copy of the weights it ended with.</summary>
    public void KeepBest(int epoch, double value, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        BestEpoch = epoch;
        BestValue = value;
        ReplaceBestWeights(Copy(weights));
    }

    /// <summary>An owned copy of a model's state (detached clones, by state_dict name): what the best and average weights hold.</summary>
    public static Dictionary<string, Tensor> Copy(IEnumerable<KeyValuePair<string, Tensor>> weights) =>
        weights.ToDictionary(p => p.Key, p => p.Value.detach().clone());

    /// <summary>Takes ownership of <paramref name="weights"/> as the best epoch's, disposing the previous ones.</summary>
    public void ReplaceBestWeights(Dictionary<string, Tensor>? weights)
    {
        if (BestWeights is not null)
            foreach (var tensor in BestWeights.Values) tensor.Dispose();
        BestWeights = weights;
    }

    public void Dispose()
    {
        ReplaceBestWeights(null);
        ReplaceAverageWeights(null);
    }
}

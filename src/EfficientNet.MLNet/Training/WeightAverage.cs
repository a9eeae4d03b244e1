using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The exponential moving average of a model's state (<see cref="ModelEma"/>): every floating-point parameter and buffer
/// (batch-norm statistics too, as torchvision's use_buffers) is averaged after each optimizer step; integer buffers (the
/// batch-norm step counters) are copied. The averaged tensors belong to the training state, which checkpoints save.
/// </summary>
internal sealed class WeightAverage
{
    private readonly ModelEma settings;
    private readonly List<(Tensor Live, Tensor Average)> pairs;

    /// <param name="settings">Decay and warm-up.</param>
    /// <param name="model">The model whose state is averaged (its tensors are updated in place by training).</param>
    /// <param name="average">The averaged state, by state_dict name: the training state's (a fresh run starts from a copy of the model's).</param>
    public WeightAverage(ModelEma settings, EfficientNetModel model, IReadOnlyDictionary<string, Tensor> average)
    {
        this.settings = settings;
        pairs = model.state_dict().Select(p => (p.Value, average[p.Key])).ToList();
    }

    /// <summary>A copy of the model's state: the average before the first step.</summary>
    public static Dictionary<string, Tensor> Start(EfficientNetModel model) => TrainingState.Copy(model.state_dict());

    /// <summary>Moves the average towards the model's state after optimizer step <paramref name="step"/> (0-based).</summary>
    public void Update(long step)
    {
        using var noGrad = no_grad();
        using var weight = tensor((float)(1 - settings.DecayAt(step)));
        foreach (var (live, average) in pairs)
        {
            if (average.is_floating_point())
                average.lerp_(live, weight);
            else
                average.copy_(live);
        }
    }

    /// <summary>Exchanges the model's state and the average (twice puts both back): to validate with the average.</summary>
    public void Swap()
    {
        using var noGrad = no_grad();
        foreach (var (live, average) in pairs)
        {
            using var kept = live.clone();
            live.copy_(average);
            average.copy_(kept);
        }
    }

    /// <summary>Puts the average into the model (the end of training).</summary>
    public void CopyIntoModel()
    {
        using var noGrad = no_grad();
        foreach (var (live, average) in pairs)
            live.copy_(average);
    }
}

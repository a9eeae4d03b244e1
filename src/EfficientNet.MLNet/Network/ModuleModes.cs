using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// The train/eval mode of every module under a root, to be put back exactly after running it in eval mode
/// (<c>train(bool)</c> recurses, so restoring only the root would reset children a user had set apart, such as a
/// frozen backbone kept in eval).
/// </summary>
internal sealed class ModuleModes
{
    private readonly List<(nn.Module Module, bool Training)> modes;

    private ModuleModes(List<(nn.Module, bool)> modes) => this.modes = modes;

    /// <summary>Records the modes, parents before children.</summary>
    public static ModuleModes Of(nn.Module root) =>
        new(root.modules().Prepend(root).Distinct().Select(m => (m, m.training)).ToList());

    /// <summary>Whether any module is in training mode.</summary>
    public bool AnyTraining => modes.Any(m => m.Training);

    /// <summary>Sets every module back to its recorded mode, parents first so that children end as they were.</summary>
    public void Restore()
    {
        foreach (var (module, training) in modes)
            module.train(training);
    }
}

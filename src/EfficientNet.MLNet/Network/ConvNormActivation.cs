using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// Convolution, batch norm, then SiLU (or no activation): torchvision's <c>Conv2dNormActivation</c>, whose
/// children are named 0, 1, 2, so its weights are <c>0.weight</c>, <c>1.weight</c>, <c>1.running_mean</c>...
/// With <c>groups</c> equal to the channel count it is the depthwise convolution of an MBConv block.
/// </summary>
public sealed class ConvNormActivation : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0")] private readonly Conv2d conv;
    [ComponentName(Name = "1")] private readonly BatchNorm2d norm;
    [ComponentName(Name = "2")] private readonly nn.Module<Tensor, Tensor>? activation;
    private readonly long kernelSize, stride, padding, groups;
    private readonly bool padsFromInput;
    private readonly double batchNormEpsilon;
    private FoldedConvolution? folded;

    /// <summary>
    /// Builds the block; padding keeps the spatial size at stride 1: symmetric (k - 1) / 2 as torchvision pads, or
    /// TensorFlow's "SAME", computed from each input's size where it differs from the symmetric one.
    /// </summary>
    /// <param name="inputChannels">Input channels.</param>
    /// <param name="outputChannels">Output channels.</param>
    /// <param name="kernelSize">Square kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="groups">Convolution groups (the channel count for a depthwise convolution).</param>
    /// <param name="withActivation">False for the linear projection at the end of an MBConv block.</param>
    /// <param name="batchNormEpsilon">Batch-norm epsilon.</param>
    /// <param name="batchNormMomentum">Batch-norm momentum (PyTorch's convention).</param>
    /// <param name="padding">Symmetric (torchvision) or TensorFlow's "SAME".</param>
    public ConvNormActivation(
        long inputChannels, long outputChannels, long kernelSize, long stride = 1, long groups = 1,
        bool withActivation = true, double batchNormEpsilon = BatchNorm2d.DefaultEpsilon, double batchNormMomentum = BatchNorm2d.DefaultMomentum,
        ConvPadding padding = ConvPadding.Symmetric)
        : base(nameof(ConvNormActivation))
    {
        CpuKernels.EnsureChecked();
        this.kernelSize = kernelSize;
        this.stride = stride;
        padsFromInput = padding == ConvPadding.Same && !TensorFlowPadding.IsAlwaysSymmetric(kernelSize, stride);
        this.padding = padsFromInput ? 0 : (kernelSize - 1) / 2;
        this.groups = groups;
        this.batchNormEpsilon = batchNormEpsilon;
        // The batch norm's shift makes a convolution bias redundant.
        conv = nn.Conv2d(inputChannels, outputChannels, kernelSize, stride: stride, padding: this.padding, groups: groups, bias: false);
        norm = new BatchNorm2d(outputChannels, batchNormEpsilon, batchNormMomentum);
        activation = withActivation ? nn.SiLU() : null;
        RegisterComponents();
    }

    /// <summary>Whether the folded copy exists and was made from the layers' current tensors.</summary>
    internal bool FoldIsCurrent => folded is { } fold && fold.IsCurrentFor(conv, norm);

    /// <summary>Folds the batch norm's current statistics into a new copy of the convolution (the model's scoring calls this).</summary>
    internal void Refold()
    {
        var previous = folded;
        folded = new FoldedConvolution(conv, norm, batchNormEpsilon, new[] { stride, stride }, new[] { padding, padding }, groups);
        previous?.Dispose();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!padsFromInput)
            return ConvolveNormalizeActivate(input);
        var (top, bottom) = TensorFlowPadding.Of(input.shape[2], kernelSize, stride);
        var (left, right) = TensorFlowPadding.Of(input.shape[3], kernelSize, stride);
        using var padded = nn.functional.pad(input, new[] { left, right, top, bottom });
        return ConvolveNormalizeActivate(padded);
    }

    Tensor ConvolveNormalizeActivate(Tensor input)
    {
        // Only inside the model's own scoring, which checked the fold is current and holds the model against changes.
        if (folded is not null && !training && FoldedInference.Active)
        {
            if (activation is null)
                return folded.Apply(input);
            using var fused = folded.Apply(input);
            return activation.call(fused);
        }
        using var convolved = conv.call(input);
        var normalized = norm.call(convolved);
        if (activation is null)
            return normalized;
        using (normalized)
            return activation.call(normalized);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            folded?.Dispose();
            folded = null;
        }
        base.Dispose(disposing);
    }
}

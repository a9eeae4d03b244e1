using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// A 2-D batch norm with TorchSharp's parameters, buffers and names (<c>weight</c>, <c>bias</c>, <c>running_mean</c>,
/// <c>running_var</c>, <c>num_batches_tracked</c>) and PyTorch's behaviour, used instead of TorchSharp's sealed
/// <c>BatchNorm2d</c> for one reason: TorchSharp 0.107 counts training batches with <c>num_batches_tracked.add_(1)</c>,
/// whose two implicit <see cref="Scalar"/> temporaries can be finalized by a garbage collection while libtorch still
/// reads them (the call passes only their handles), which crashed a training run ("Expected false to be true" from
/// <c>Scalar::toLong</c>). Here the count uses Scalars held for the life of the process. Both derive from TorchSharp's
/// <see cref="BatchNorm"/>, so code that looks for batch norms should look for that type.
/// </summary>
public sealed class BatchNorm2d : BatchNorm
{
    // Never disposed, never finalized while in use: the batch counter's increment and its scale.
    static readonly Scalar One = 1L.ToScalar();

    /// <summary>PyTorch's default epsilon, added to the variance (torchvision's b0..b4).</summary>
    public const double DefaultEpsilon = 1e-5;

    /// <summary>PyTorch's default momentum: the weight of the newest batch in the running statistics (torchvision's b0..b4 and V2).</summary>
    public const double DefaultMomentum = 0.1;

    /// <summary>A batch norm over <paramref name="features"/> channels, with learnable affine parameters and running statistics.</summary>
    /// <param name="features">Channels.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="momentum">Weight of the newest batch in the running statistics (PyTorch's convention).</param>
    public BatchNorm2d(long features, double epsilon = DefaultEpsilon, double momentum = DefaultMomentum)
        : base(features, epsilon, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: nameof(BatchNorm2d))
    {
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var averagingFactor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is not null)
        {
            num_batches_tracked.add_(One, One);
            if (momentum is null)
                averagingFactor = 1.0 / num_batches_tracked.item<long>();
        }
        var useBatchStatistics = training || (running_mean is null && running_var is null);
        var useRunningStatistics = !training || track_running_stats;
        return nn.functional.batch_norm(input, useRunningStatistics ? running_mean : null, useRunningStatistics ? running_var : null, weight, bias,
            useBatchStatistics, averagingFactor, eps);
    }

    /// <inheritdoc />
    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4)
            throw new ArgumentException($"A 2-D batch norm expects a 4-D input (N, C, H, W); got {input.ndim} dimensions.", nameof(input));
    }
}

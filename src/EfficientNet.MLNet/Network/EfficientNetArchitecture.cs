namespace EfficientNet.MLNet.Network;

/// <summary>
/// The concrete layout of one network: the baseline table scaled by width and depth, with the stochastic-depth
/// probability rising linearly over all blocks. A pure description; <see cref="EfficientNetModel"/> builds it.
/// </summary>
/// <param name="StemChannels">Output channels of the stem.</param>
/// <param name="Stages">The MBConv blocks, stage by stage.</param>
/// <param name="HeadChannels">Output channels of the 1x1 head convolution (the classifier's input).</param>
public sealed record EfficientNetArchitecture(int StemChannels, IReadOnlyList<IReadOnlyList<MBConvSpec>> Stages, int HeadChannels)
{
    /// <summary>The total number of MBConv blocks.</summary>
    public int BlockCount => Stages.Sum(stage => stage.Count);

    /// <summary>
    /// The number of values in the state_dict of this layout with <paramref name="classes"/> outputs: parameters
    /// plus batch-norm buffers (running mean and variance, and one batch counter each). Computed from the layout
    /// alone, so a stored description can be checked against its weights before any tensor is allocated.
    /// </summary>
    public long StateElementCount(int classes)
    {
        static long Conv(long inputs, long outputs, long kernel) => inputs * outputs * kernel * kernel;
        static long Norm(long channels) => 4 * channels + 1;
        var count = Conv(3, StemChannels, 3) + Norm(StemChannels);
        foreach (var block in Stages.SelectMany(stage => stage))
        {
            long hidden = block.ExpandedChannels, squeeze = block.SqueezeChannels;
            if (block.ExpandRatio != 1)
                count += Conv(block.InputChannels, hidden, 1) + Norm(hidden);
            count += hidden * block.KernelSize * block.KernelSize + Norm(hidden);
            count += 2 * hidden * squeeze + squeeze + hidden;
            count += Conv(hidden, block.OutputChannels, 1) + Norm(block.OutputChannels);
        }
        var lastChannels = Stages[^1][^1].OutputChannels;
        return count + Conv(lastChannels, HeadChannels, 1) + Norm(HeadChannels) + (long)HeadChannels * classes + classes;
    }

    /// <summary>Scales the baseline: channels by width (rounded to multiples of 8), repeats by depth (rounded up).</summary>
    /// <param name="widthMultiplier">Channel multiplier.</param>
    /// <param name="depthMultiplier">Repeat multiplier.</param>
    /// <param name="stochasticDepthProbability">Drop probability reached by the last block (block i of n gets p * i / n).</param>
    public static EfficientNetArchitecture Plan(double widthMultiplier, double depthMultiplier, double stochasticDepthProbability = 0.2)
    {
        if (!(stochasticDepthProbability >= 0 && stochasticDepthProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(stochasticDepthProbability), stochasticDepthProbability, "The stochastic-depth probability must be in [0, 1].");

        var repeats = BaselineArchitecture.Stages.Select(stage => ScalingRules.ScaleRepeats(stage.Repeats, depthMultiplier)).ToArray();
        var totalBlocks = repeats.Sum();
        var stemChannels = ScalingRules.ScaleChannels(BaselineArchitecture.StemChannels, widthMultiplier);

        var stages = new List<IReadOnlyList<MBConvSpec>>();
        var inputChannels = stemChannels;
        var blockIndex = 0;
        for (var s = 0; s < BaselineArchitecture.Stages.Count; s++)
        {
            var stage = BaselineArchitecture.Stages[s];
            var outputChannels = ScalingRules.ScaleChannels(stage.Channels, widthMultiplier);
            var blocks = new List<MBConvSpec>();
            for (var i = 0; i < repeats[s]; i++)
            {
                // Only a stage's first block changes channels and stride.
                blocks.Add(new MBConvSpec(
                    i == 0 ? inputChannels : outputChannels,
                    outputChannels,
                    stage.ExpandRatio,
                    stage.KernelSize,
                    i == 0 ? stage.Stride : 1,
                    stochasticDepthProbability * blockIndex / totalBlocks));
                blockIndex++;
            }
            stages.Add(blocks);
            inputChannels = outputChannels;
        }
        return new EfficientNetArchitecture(stemChannels, stages, BaselineArchitecture.HeadChannelMultiplier * inputChannels);
    }
}

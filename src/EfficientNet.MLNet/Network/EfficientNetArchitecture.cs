namespace EfficientNet.MLNet.Network;

/// <summary>
/// The concrete layout of one network: a variant's block table scaled by width and depth, with the stochastic-depth
/// probability rising linearly over all blocks. A pure description; <see cref="EfficientNetModel"/> builds it.
/// </summary>
/// <param name="StemChannels">Output channels of the stem.</param>
/// <param name="Stages">The blocks (MBConv or Fused-MBConv), stage by stage.</param>
/// <param name="HeadChannels">Output channels of the 1x1 head convolution (the classifier's input).</param>
public sealed record EfficientNetArchitecture(int StemChannels, IReadOnlyList<IReadOnlyList<BlockSpec>> Stages, int HeadChannels)
{
    /// <summary>The total number of blocks.</summary>
    public int BlockCount => Stages.Sum(stage => stage.Count);

    /// <summary>Layers of torchvision's <c>features</c>: the stem, one per stage, the head convolution.</summary>
    public int FeatureLayerCount => Stages.Count + 2;

    /// <summary>
    /// The side of <c>features[<paramref name="layer"/>]</c>'s output map for square inputs of <paramref name="inputSize"/>
    /// pixels: each stride-2 layer (the stem, a stage's first block) halves it, rounding up, with either padding.
    /// </summary>
    public int FeatureMapSide(int layer, int inputSize)
    {
        if (layer < 0 || layer >= FeatureLayerCount)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"features has layers 0 to {FeatureLayerCount - 1}.");
        var side = (inputSize + 1) / 2; // the stem
        for (var stage = 0; stage < Math.Min(layer, Stages.Count); stage++)
            for (var halvings = Stages[stage][0].Stride; halvings > 1; halvings /= 2)
                side = (side + 1) / 2;
        return side;
    }

    /// <summary>
    /// The state_dict of this layout with <paramref name="classes"/> outputs, name by name (torchvision's names) with
    /// each tensor's shape (a batch norm's counter is a scalar), in module order. Computed from the layout alone, so
    /// stored weights can be checked against it, and read, without building the network.
    /// </summary>
    public IReadOnlyList<(string Name, long[] Shape)> StateLayout(int classes)
    {
        var layout = new List<(string, long[])>();
        void Conv(string prefix, long inputs, long outputs, long kernel) => layout.Add(($"{prefix}.weight", new[] { outputs, inputs, kernel, kernel }));
        void Norm(string prefix, long channels)
        {
            foreach (var entry in new[] { "weight", "bias", "running_mean", "running_var" })
                layout.Add(($"{prefix}.{entry}", new[] { channels }));
            layout.Add(($"{prefix}.num_batches_tracked", Array.Empty<long>()));
        }
        Conv("features.0.0", 3, StemChannels, 3);
        Norm("features.0.1", StemChannels);
        for (var s = 0; s < Stages.Count; s++)
            for (var i = 0; i < Stages[s].Count; i++)
            {
                var block = Stages[s][i];
                var prefix = $"features.{s + 1}.{i}.block";
                long hidden = block.ExpandedChannels, squeeze = block.SqueezeChannels;
                var layer = 0;
                if (block.Kind == BlockKind.FusedMBConv)
                {
                    // A full k x k convolution expands (or, without expansion, goes straight to the output channels).
                    var spatialOutputs = block.HasExpansion ? hidden : block.OutputChannels;
                    Conv($"{prefix}.{layer}.0", block.InputChannels, spatialOutputs, block.KernelSize);
                    Norm($"{prefix}.{layer++}.1", spatialOutputs);
                    if (!block.HasExpansion)
                        continue;
                }
                else
                {
                    if (block.HasExpansion)
                    {
                        Conv($"{prefix}.{layer}.0", block.InputChannels, hidden, 1);
                        Norm($"{prefix}.{layer++}.1", hidden);
                    }
                    layout.Add(($"{prefix}.{layer}.0.weight", new[] { hidden, 1, block.KernelSize, block.KernelSize })); // depthwise
                    Norm($"{prefix}.{layer++}.1", hidden);
                    layout.Add(($"{prefix}.{layer}.fc1.weight", new[] { squeeze, hidden, 1, 1 }));
                    layout.Add(($"{prefix}.{layer}.fc1.bias", new[] { squeeze }));
                    layout.Add(($"{prefix}.{layer}.fc2.weight", new[] { hidden, squeeze, 1, 1 }));
                    layout.Add(($"{prefix}.{layer++}.fc2.bias", new[] { hidden }));
                }
                Conv($"{prefix}.{layer}.0", hidden, block.OutputChannels, 1); // projection
                Norm($"{prefix}.{layer}.1", block.OutputChannels);
            }
        var head = $"features.{Stages.Count + 1}";
        Conv($"{head}.0", Stages[^1][^1].OutputChannels, HeadChannels, 1);
        Norm($"{head}.1", HeadChannels);
        layout.Add(("classifier.1.weight", new long[] { classes, HeadChannels }));
        layout.Add(("classifier.1.bias", new long[] { classes }));
        return layout;
    }

    /// <summary>
    /// The number of values in the state_dict of this layout with <paramref name="classes"/> outputs: parameters
    /// plus batch-norm buffers (running mean and variance, and one batch counter each), from <see cref="StateLayout"/>.
    /// </summary>
    public long StateElementCount(int classes) =>
        StateLayout(classes).Sum(entry => entry.Shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>
    /// The one planning function: the variant's block table with channels scaled by width (rounded to multiples of 8) and
    /// repeats by depth (rounded up); only a stage's first block changes channels and stride; the stochastic-depth
    /// probability rises linearly over all blocks.
    /// </summary>
    /// <param name="scaling">The variant: block table, width and depth.</param>
    /// <param name="stochasticDepthProbability">Drop probability reached by the last block (block i of n gets p * i / n).</param>
    public static EfficientNetArchitecture Plan(EfficientNetScaling scaling, double stochasticDepthProbability = EfficientNetModel.DefaultStochasticDepthProbability)
    {
        ArgumentNullException.ThrowIfNull(scaling);
        if (!(stochasticDepthProbability >= 0 && stochasticDepthProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(stochasticDepthProbability), stochasticDepthProbability, "The stochastic-depth probability must be in [0, 1].");

        var (table, width) = (scaling.Blocks, scaling.WidthMultiplier);
        var repeats = table.Stages.Select(stage => ScalingRules.ScaleRepeats(stage.Repeats, scaling.DepthMultiplier)).ToArray();
        var totalBlocks = repeats.Sum();
        var stemChannels = ScalingRules.ScaleChannels(table.StemChannels, width);

        var stages = new List<IReadOnlyList<BlockSpec>>();
        var inputChannels = stemChannels;
        var blockIndex = 0;
        for (var s = 0; s < table.Stages.Count; s++)
        {
            var stage = table.Stages[s];
            var outputChannels = ScalingRules.ScaleChannels(stage.Channels, width);
            var blocks = new List<BlockSpec>();
            for (var i = 0; i < repeats[s]; i++)
            {
                blocks.Add(new BlockSpec(
                    i == 0 ? inputChannels : outputChannels,
                    outputChannels,
                    stage.ExpandRatio,
                    stage.KernelSize,
                    i == 0 ? stage.Stride : 1,
                    stochasticDepthProbability * blockIndex / totalBlocks,
                    stage.Block));
                blockIndex++;
            }
            stages.Add(blocks);
            inputChannels = outputChannels;
        }
        return new EfficientNetArchitecture(stemChannels, stages, table.ScaledHeadChannels(inputChannels, width));
    }
}

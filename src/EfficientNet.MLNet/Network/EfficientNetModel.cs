using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// EfficientNet (Tan and Le, 2019) and EfficientNetV2 (Tan and Le, 2021) as a TorchSharp module, the same network as
/// torchvision's <c>efficientnet_b0</c>..<c>efficientnet_b7</c> and <c>efficientnet_v2_s</c>/<c>_m</c>/<c>_l</c> parameter
/// for parameter and name for name, so that a torchvision state_dict loads without renaming.
/// </summary>
/// <remarks>
/// Layout: <c>features</c> = [stem 3x3 stride-2 conv, the stages of <see cref="MBConv"/> (and in V2 first <see cref="FusedMBConv"/>) blocks, 1x1 head conv],
/// then <c>avgpool</c> (global average), then <c>classifier</c> = [dropout, linear]. Input: a float batch
/// (N, 3, H, W), normalized as the weights expect (ImageNet mean and std for torchvision's); any H and W of at
/// least 32 work. Output: logits (N, classes).
/// </remarks>
public sealed class EfficientNetModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The prefix of the classifier's parameter names; everything else is the backbone.</summary>
    public const string ClassifierPrefix = "classifier.";

    /// <summary>The drop probability reached by the last block, as in torchvision.</summary>
    public const double DefaultStochasticDepthProbability = 0.2;

    private readonly Sequential features;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Sequential classifier;
    // Scoring (Infer) shares the model; disposing, refolding and summarizing take it alone.
    private readonly ReaderWriterLockSlim usage = new(LockRecursionPolicy.NoRecursion);
    private Generator? trainingGenerator;
    private bool disposed;

    /// <summary>Builds a network with torchvision's random initialization.</summary>
    /// <param name="scaling">Width, depth, resolution, dropout and batch-norm settings, e.g. <see cref="EfficientNetVariants.B0"/>.</param>
    /// <param name="numClasses">Classifier outputs (1000 for ImageNet weights).</param>
    /// <param name="stochasticDepthProbability">Drop probability of the last block; earlier blocks ramp up to it linearly.</param>
    /// <param name="dropoutRate">Dropout before the classifier; default: the scaling's.</param>
    /// <param name="generator">Draws the initial weights, and then libtorch's global generator is left as it was; default: the
    /// global generator (seeded by manual_seed).</param>
    public EfficientNetModel(EfficientNetScaling scaling, int numClasses = 1000,
        double stochasticDepthProbability = DefaultStochasticDepthProbability, double? dropoutRate = null, Generator? generator = null)
        : base("EfficientNet")
    {
        // Before anything else, and before the global generator is held: the check builds a model of its own.
        CpuKernels.EnsureChecked();
        ArgumentNullException.ThrowIfNull(scaling);
        Scaling = scaling.Validate();
        if (numClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A classifier needs at least one class.");
        DropoutRate = dropoutRate ?? scaling.DropoutRate;
        if (!(DropoutRate >= 0 && DropoutRate < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutRate), DropoutRate, "Dropout must be in [0, 1).");
        NumClasses = numClasses;
        // With a generator of its own the model leaves the global one as it was (the layers' constructors draw from it).
        using var globalRandom = generator is null ? null : GlobalRandomState.Keep();
        StochasticDepthProbability = stochasticDepthProbability;
        Architecture = EfficientNetArchitecture.Plan(scaling, stochasticDepthProbability);

        var (eps, momentum, padding) = (scaling.BatchNormEpsilon, scaling.BatchNormMomentum, scaling.Padding);
        var layers = new List<nn.Module<Tensor, Tensor>>
        {
            new ConvNormActivation(3, Architecture.StemChannels, 3, stride: 2, batchNormEpsilon: eps, batchNormMomentum: momentum, padding: padding),
        };
        foreach (var stage in Architecture.Stages)
            layers.Add(nn.Sequential(stage.Select(spec => Block(spec, eps, momentum, padding))));
        var headInput = Architecture.Stages[^1][^1].OutputChannels;
        layers.Add(new ConvNormActivation(headInput, Architecture.HeadChannels, 1, batchNormEpsilon: eps, batchNormMomentum: momentum, padding: padding));

        features = nn.Sequential(layers);
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Sequential(nn.Dropout(DropoutRate), nn.Linear(Architecture.HeadChannels, numClasses));
        RegisterComponents();
        WeightInitialization.ApplyTorchvisionDefaults(this, generator);
    }

    static nn.Module<Tensor, Tensor> Block(BlockSpec spec, double eps, double momentum, ConvPadding padding) => spec.Kind switch
    {
        BlockKind.FusedMBConv => new FusedMBConv(spec, eps, momentum, padding),
        _ => new MBConv(spec, eps, momentum, padding),
    };

    /// <summary>Builds a named variant (see <see cref="EfficientNetVariants"/>) with random weights.</summary>
    /// <param name="version">"b0" to "b7", "v2_s", "v2_m", "v2_l", or "tf_b0" to "tf_v2_l".</param>
    /// <param name="numClasses">Classifier outputs.</param>
    /// <exception cref="ArgumentException">Unknown version; the message lists the valid ones.</exception>
    public static EfficientNetModel Create(string version, int numClasses = 1000) => new(EfficientNetVariants.Get(version), numClasses);

    /// <summary>The scaling this network was built with.</summary>
    public EfficientNetScaling Scaling { get; }

    /// <summary>The concrete layout: channels, blocks, head width.</summary>
    public EfficientNetArchitecture Architecture { get; }

    /// <summary>Classifier outputs.</summary>
    public int NumClasses { get; }

    /// <summary>Dropout before the classifier.</summary>
    public double DropoutRate { get; }

    /// <summary>
    /// Sets the classifier's dropout for the next training steps (progressive learning grows it over the epochs);
    /// <see cref="DropoutRate"/> stays the configured rate, which the trainer puts back at the end.
    /// </summary>
    internal void SetTrainingDropout(double rate) => Dropout.p = rate;

    Dropout Dropout => (Dropout)classifier[0];

    /// <summary>Drop probability of the last block.</summary>
    public double StochasticDepthProbability { get; }

    /// <summary>The input resolution the variant is meant for.</summary>
    public int Resolution => Scaling.Resolution;

    /// <summary>Parameters of the feature extractor (everything but the classifier), e.g. to freeze them.</summary>
    public IEnumerable<Parameter> BackboneParameters() =>
        named_parameters().Where(p => !p.name.StartsWith(ClassifierPrefix, StringComparison.Ordinal)).Select(p => p.parameter);

    /// <summary>Parameters of the final linear layer.</summary>
    public IEnumerable<Parameter> ClassifierParameters() =>
        named_parameters().Where(p => p.name.StartsWith(ClassifierPrefix, StringComparison.Ordinal)).Select(p => p.parameter);

    /// <summary>Sets the classifier's weights and bias to zero, so that a new head starts from uniform probabilities.</summary>
    public void ZeroClassifier()
    {
        using var noGrad = no_grad();
        foreach (var parameter in ClassifierParameters())
            parameter.zero_();
    }

    /// <summary>Whether <see cref="FreezeBackbone"/> was called.</summary>
    public bool BackboneFrozen { get; private set; }

    /// <summary>
    /// Stops training the feature extractor: its parameters no longer require gradients and its batch norms keep
    /// their statistics (they stay in eval mode even when the model trains). Only the classifier learns.
    /// </summary>
    public void FreezeBackbone()
    {
        foreach (var parameter in BackboneParameters())
            parameter.requires_grad = false;
        BackboneFrozen = true;
        features.eval();
    }

    /// <summary>Undoes <see cref="FreezeBackbone"/>: the whole network learns again (its batch norms follow the model's mode).</summary>
    public void UnfreezeBackbone()
    {
        foreach (var parameter in BackboneParameters())
            parameter.requires_grad = true;
        BackboneFrozen = false;
        train(training);
    }

    /// <summary>
    /// Whether every batch norm keeps its running statistics while the model trains (they stay in eval mode; their
    /// scale and shift still learn): the usual advice for fine-tuning pretrained weights on little data.
    /// </summary>
    public bool BatchNormStatisticsFrozen
    {
        get => batchNormStatisticsFrozen;
        set
        {
            batchNormStatisticsFrozen = value;
            train(training);
        }
    }

    private bool batchNormStatisticsFrozen;

    /// <inheritdoc />
    public override void train(bool train = true)
    {
        base.train(train);
        if (BackboneFrozen)
            features.eval();
        if (batchNormStatisticsFrozen)
            foreach (var norm in modules().OfType<BatchNorm2d>())
                norm.eval();
    }

    /// <summary>The pooled features (N, head channels) before dropout and the classifier.</summary>
    public Tensor ForwardFeatures(Tensor input)
    {
        using var mapped = features.call(input);
        using var pooled = avgpool.call(mapped);
        return pooled.flatten(1);
    }

    /// <summary>
    /// The output of <c>features[0..<paramref name="layer"/>]</c> (N, channels, H/s, W/s): by default the last convolutional
    /// layer's (the head conv, H/32), what Grad-CAM explains.
    /// </summary>
    internal Tensor FeatureMap(Tensor input, int? layer = null)
    {
        var last = layer ?? Architecture.FeatureLayerCount - 1;
        if (last == Architecture.FeatureLayerCount - 1)
            return features.call(input);
        var map = input;
        for (var i = 0; i <= last; i++)
        {
            var next = ((nn.Module<Tensor, Tensor>)features[i]).call(map);
            if (!ReferenceEquals(map, input))
                map.Dispose();
            map = next;
        }
        return map;
    }

    /// <summary>
    /// Class logits from a <see cref="FeatureMap"/> of <paramref name="layer"/>: the rest of <c>features</c>, pooled, then
    /// the classifier (dropout as in eval).
    /// </summary>
    internal Tensor LogitsFromFeatureMap(Tensor map, int? layer = null)
    {
        using var scope = NewDisposeScope();
        var mapped = map;
        for (var i = (layer ?? Architecture.FeatureLayerCount - 1) + 1; i < Architecture.FeatureLayerCount; i++)
            mapped = ((nn.Module<Tensor, Tensor>)features[i]).call(mapped);
        var flat = avgpool.call(mapped).flatten(1);
        return ((nn.Module<Tensor, Tensor>)classifier[1]).call(flat).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var pooled = ForwardFeatures(input);
        var rate = Dropout.p; // the configured rate, or a progressive-learning stage's
        if (!training || trainingGenerator is null || rate == 0)
            return classifier.call(pooled);
        // The same dropout as classifier.0, drawn from the trainer's generator (nn.Dropout has no generator argument).
        using var keep = empty_like(pooled).bernoulli_(1 - rate, trainingGenerator);
        using var dropped = (pooled * keep).div_(Scalars.Of(1 - rate));
        return ((nn.Module<Tensor, Tensor>)classifier[1]).call(dropped);
    }

    /// <summary>
    /// Where training draws dropout and stochastic depth from; null (the default): libtorch's global generator. The
    /// trainer gives each Fit its own, so that Fits in one process neither disturb each other nor the user's stream.
    /// </summary>
    internal Generator? TrainingGenerator
    {
        get => trainingGenerator;
        set
        {
            trainingGenerator = value;
            foreach (var depth in modules().OfType<StochasticDepth>())
                depth.Generator = value;
        }
    }

    /// <summary>
    /// Class logits of a batch normalized as <see cref="Imaging.NetworkInput"/> makes it, as the library scores: in eval mode
    /// whatever mode the model is in, without gradients, on the model's device and dtype, with batch norms folded into
    /// the convolutions (refolded whenever a weight, statistic, device or dtype changed since: see
    /// <see cref="TensorVersion"/>). Safe from several threads at once; a model disposed meanwhile gives
    /// <see cref="ObjectDisposedException"/> once the calls in flight have finished.
    /// </summary>
    internal Tensor Infer(Tensor input) => Infer(input, features: false);

    /// <summary>As <see cref="Infer(Tensor)"/>, the pooled features (<see cref="ForwardFeatures"/>) instead of the logits.</summary>
    internal Tensor InferFeatures(Tensor input) => Infer(input, features: true);

    Tensor Infer(Tensor input, bool features)
    {
        usage.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var fold = CanTrackChanges();
            if (!ModuleModes.Of(this).AnyTraining && (!fold || FoldsAreCurrent()))
                return RunScoring(input, folded: fold, features);
        }
        finally
        {
            usage.ExitReadLock();
        }
        // Train mode or a stale fold: put it right alone, then score, and give the user's mode back.
        usage.EnterWriteLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var modes = ModuleModes.Of(this);
            try
            {
                base.train(false);
                var fold = CanTrackChanges();
                if (fold && !FoldsAreCurrent())
                    foreach (var block in modules().OfType<ConvNormActivation>())
                        block.Refold();
                return RunScoring(input, folded: fold, features);
            }
            finally
            {
                modes.Restore();
            }
        }
        finally
        {
            usage.ExitWriteLock();
        }
    }

    /// <summary>Holds the model alone (no scoring, disposing or other exclusive use meanwhile) until disposed.</summary>
    internal IDisposable Exclusive()
    {
        usage.EnterWriteLock();
        if (disposed)
        {
            usage.ExitWriteLock();
            throw new ObjectDisposedException(nameof(EfficientNetModel));
        }
        return new ExclusiveUse(usage);
    }

    /// <summary>
    /// Whether a change of any weight or statistic would show in libtorch's version counters: the counters can be read
    /// here, and no tensor of the model was made in inference mode (such tensors keep no counter).
    /// </summary>
    internal bool CanTrackChanges() => TensorVersion.IsAvailable && state_dict().Values.All(t => TensorVersion.Of(t) is not null);

    bool FoldsAreCurrent() => modules().OfType<ConvNormActivation>().All(block => block.FoldIsCurrent);

    Tensor RunScoring(Tensor input, bool folded, bool features)
    {
        using var inference = inference_mode(true);
        var parameter = parameters().First();
        using var converted = input.dtype == parameter.dtype && input.device == parameter.device ? input.alias() : input.to(parameter.dtype, parameter.device);
        if (!folded)
            return features ? ForwardFeatures(converted) : call(converted);
        using (FoldedInference.Enter())
            return features ? ForwardFeatures(converted) : call(converted);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            base.Dispose(disposing);
            return;
        }
        // Waits for scoring in flight; later scoring throws ObjectDisposedException instead of touching freed memory.
        usage.EnterWriteLock();
        try
        {
            if (disposed)
                return;
            disposed = true;
            base.Dispose(disposing);
        }
        finally
        {
            usage.ExitWriteLock();
        }
    }

    sealed class ExclusiveUse(ReaderWriterLockSlim usage) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
                usage.ExitWriteLock();
        }
    }
}

namespace EfficientNet.MLNet;

/// <summary>What a model decides for an image: one class, or any set of labels.</summary>
public enum TaskKind
{
    /// <summary>One class per image (softmax over the classes; PredictedLabel is the most probable class's key).</summary>
    Multiclass,

    /// <summary>
    /// Any number of labels per image, none included (one sigmoid per label; PredictedLabel holds the keys of the labels
    /// whose probability is at least the label's decision threshold).
    /// </summary>
    MultiLabel,
}

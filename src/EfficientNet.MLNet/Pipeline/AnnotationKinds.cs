namespace EfficientNet.MLNet.Pipeline;

/// <summary>The annotation names ML.NET gives class names (its own constants are internal).</summary>
internal static class AnnotationKinds
{
    /// <summary>The values of a key column, e.g. the class names of a label.</summary>
    public const string KeyValues = "KeyValues";

    /// <summary>The names of a vector's slots, e.g. the class of each score.</summary>
    public const string SlotNames = "SlotNames";

    /// <summary>
    /// On a multi-label model's Score column: each label's decision threshold (this library's own kind), so that
    /// evaluation of scored data decides as the model does.
    /// </summary>
    public const string DecisionThresholds = "DecisionThresholds";
}

namespace EfficientNet.MLNet.Weights;

/// <summary>How strictly weights must fit the model they are loaded into.</summary>
public enum WeightLoadMode
{
    /// <summary>Every name and shape must match; otherwise nothing is loaded and the error lists the differences.</summary>
    Strict,

    /// <summary>
    /// The backbone must match exactly; classifier weights that are missing or of another class count are left
    /// freshly initialized (transfer learning to new classes). Anything else that differs is still an error.
    /// </summary>
    KeepNewClassifier,
}

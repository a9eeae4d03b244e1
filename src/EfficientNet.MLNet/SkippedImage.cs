namespace EfficientNet.MLNet;

/// <summary>A row whose image could not be read and was left out (with <c>SkipUnreadableImages</c>).</summary>
/// <param name="Row">0-based row of the training (or validation) IDataView.</param>
/// <param name="DataName">"the training data" or "the validation data".</param>
/// <param name="Problem">Why the image could not be read.</param>
public sealed record SkippedImage(long Row, string DataName, string Problem);

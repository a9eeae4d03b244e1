using static TorchSharp.torch;

namespace EfficientNet.MLNet.Explanations;

/// <summary>
/// Why the model scored an image as a class: Grad-CAM's heat map (Selvaraju et al., 2017) over one layer of the network's
/// <c>features</c>, scaled to the model's input size, for the class asked for or the predicted one. Holds a tensor: dispose it.
/// </summary>
public sealed class GradCamExplanation : IDisposable
{
    internal GradCamExplanation(string className, int classIndex, float probability, string predictedClassName, int layer, int mapSide, Tensor heatMap,
        IReadOnlyList<float> probabilities, IReadOnlyList<string> predictedLabels)
    {
        Probabilities = probabilities;
        PredictedLabels = predictedLabels;
        Layer = layer;
        MapSide = mapSide;
        ClassName = className;
        ClassIndex = classIndex;
        Probability = probability;
        PredictedClassName = predictedClassName;
        HeatMap = heatMap;
        Size = (int)heatMap.shape[0];
    }

    /// <summary>The layer of torchvision's <c>features</c> explained (see <see cref="GradCam.DefaultLayer"/>).</summary>
    public int Layer { get; }

    /// <summary>That layer's map side, in cells, before the resize to <see cref="Size"/>: how fine the heat map really is.</summary>
    public int MapSide { get; }

    /// <summary>The class explained.</summary>
    public string ClassName { get; }

    /// <summary>Its index in the Score vector.</summary>
    public int ClassIndex { get; }

    /// <summary>The probability the model gives the image for <see cref="ClassName"/>.</summary>
    public float Probability { get; }

    /// <summary>The class the model predicts for the image (the same as <see cref="ClassName"/> unless another was asked for); a multi-label model's most probable label.</summary>
    public string PredictedClassName { get; }

    /// <summary>The model's probabilities for the image, one per class or label, in the order of the Score vector.</summary>
    public IReadOnlyList<float> Probabilities { get; }

    /// <summary>
    /// What the model decides for the image: the predicted class; for a multi-label model every label whose probability
    /// is at least its threshold (possibly none). Explain each of them by name to see the evidence for each label.
    /// </summary>
    public IReadOnlyList<string> PredictedLabels { get; }

    /// <summary>
    /// The heat map: a float tensor of Size x Size on the CPU, rows from the top, stretched to 0..1 (1: where the evidence
    /// for the class is strongest, 0: the weakest; all 0 when the map is flat), as the model saw the image (stretched to its square).
    /// </summary>
    public Tensor HeatMap { get; }

    /// <summary>The heat map's width and height: the model's image size.</summary>
    public int Size { get; }

    /// <summary>The heat map's values, row by row.</summary>
    public float[] HeatMapValues() => HeatMap.data<float>().ToArray();

    /// <summary>
    /// The share of the heat map's mass inside a rectangle given as fractions of the image's width and height (0 to 1);
    /// 0 when the map is empty.
    /// </summary>
    public double MassWithin(double left, double top, double right, double bottom)
    {
        if (!(0 <= left && left < right && right <= 1 && 0 <= top && top < bottom && bottom <= 1))
            throw new ArgumentOutOfRangeException(nameof(left), $"Expected 0 <= left < right <= 1 and 0 <= top < bottom <= 1; got ({left}, {top}, {right}, {bottom}).");
        var values = HeatMapValues();
        double total = 0, inside = 0;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var v = values[y * Size + x];
                total += v;
                if (x >= left * Size && x < right * Size && y >= top * Size && y < bottom * Size)
                    inside += v;
            }
        return total > 0 ? inside / total : 0;
    }

    /// <summary>
    /// The heat map over <paramref name="image"/> (the encoded image that was explained, at its own size), coloured blue
    /// (no evidence) to red (the strongest), as PNG bytes.
    /// </summary>
    /// <param name="image">The encoded image (PNG, JPEG, BMP, GIF or WebP).</param>
    /// <param name="opacity">How much of the colour covers the image, 0 to 1.</param>
    public byte[] OverlayPng(byte[] image, double opacity = 0.5) => HeatMapOverlay.Png(image, HeatMapValues(), Size, opacity);

    /// <inheritdoc />
    public void Dispose() => HeatMap.Dispose();
}

namespace EfficientNet.MLNet.Datasets;

/// <summary>One image of a dataset on disk; a row type for ML.NET's LoadFromEnumerable and CreateEnumerable.</summary>
public sealed class LabeledImage
{
    /// <summary>An empty row (ML.NET fills it).</summary>
    public LabeledImage() { }

    /// <summary>A row for an image file and its class.</summary>
    public LabeledImage(string imagePath, string label)
    {
        ImagePath = imagePath;
        Label = label;
    }

    /// <summary>The image file.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>Its class name (the name of its folder).</summary>
    public string Label { get; set; } = "";
}

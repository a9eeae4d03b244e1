using Microsoft.ML;

namespace EfficientNet.MLNet.Tests.Pipeline;

public class ModelFormatTests
{
    [Fact]
    public void A_model_from_a_newer_format_version_says_to_upgrade()
    {
        using var description = new MemoryStream();
        using (var writer = new BinaryWriter(description, System.Text.Encoding.UTF8, leaveOpen: true))
            writer.Write(EfficientNetTransformer.FormatVersion + 1);
        description.Position = 0;

        var error = Assert.Throws<EfficientNetException>(() =>
            EfficientNetTransformer.Load(new MLContext(), new BinaryReader(description), Array.Empty<byte>()));

        Assert.Contains($"format {EfficientNetTransformer.FormatVersion + 1}", error.Message);
        Assert.Contains("Upgrade the EfficientNet.MLNet package", error.Message);
    }
}

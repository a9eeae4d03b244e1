using EfficientNet.MLNet.MLNetInternals;
using Microsoft.ML;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(EfficientNet.MLNet.EfficientNetImageFeaturizer), typeof(FeaturizerPersistence), null,
    typeof(SignatureLoadModel), "EfficientNet image featurizer", FeaturizerPersistence.LoaderSignature)]

namespace EfficientNet.MLNet.MLNetInternals;

/// <summary>
/// Writes an <see cref="EfficientNetImageFeaturizer"/> into an ML.NET model zip and reads it back: its two column names,
/// then its network as a nested model (the classifier's own format, <see cref="TransformerPersistence"/>).
/// </summary>
internal static class FeaturizerPersistence
{
    /// <summary>Names the loader in the zip's model header (at most 8 characters).</summary>
    public const string LoaderSignature = "EFNETFEA";
    const string NetworkName = "Network";

    static VersionInfo VersionInfo => TransformerPersistence.Versions("EFFNETFT", LoaderSignature);

    public static void Save(ModelSaveContext context, string inputColumnName, string outputColumnName, EfficientNetTransformer network)
    {
        context.CheckAtModel();
        context.SetVersionInfo(VersionInfo);
        context.Writer.Write(inputColumnName);
        context.Writer.Write(outputColumnName);
        context.SaveModel(network, NetworkName);
    }

    /// <summary>Called by ML.NET's model loader.</summary>
    private static EfficientNetImageFeaturizer Create(IHostEnvironment environment, ModelLoadContext context)
    {
        context.CheckAtModel(VersionInfo);
        var input = context.Reader.ReadString();
        var output = context.Reader.ReadString();
        if (input.Length == 0 || output.Length == 0)
            throw new EfficientNetException("The model zip's image featurizer has an empty column name: it is damaged. Save the model again.");
        context.LoadModel<EfficientNetTransformer, SignatureLoadModel>(environment, out var network, NetworkName);
        return new EfficientNetImageFeaturizer(network, input, output, ownsNetwork: true);
    }
}

using EfficientNet.MLNet.MLNetInternals;
using Microsoft.ML;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(EfficientNet.MLNet.EfficientNetTransformer), typeof(TransformerPersistence), null,
    typeof(SignatureLoadModel), "EfficientNet image classifier", TransformerPersistence.LoaderSignature)]

namespace EfficientNet.MLNet.MLNetInternals;

/// <summary>
/// Writes an <see cref="EfficientNetTransformer"/> into an ML.NET model zip and reads it back. ML.NET finds
/// <see cref="Create"/> through the [LoadableClass] above, in a fresh process, by the assembly name the zip
/// records: no registration call. The payload is the transformer's own versioned format.
/// </summary>
internal static class TransformerPersistence
{
    /// <summary>Names the loader in the zip's model header (at most 8 characters).</summary>
    public const string LoaderSignature = "EFNETXFM";
    const string WeightsStream = "Weights.safetensors";

    static VersionInfo VersionInfo => Versions("EFFNETCL", LoaderSignature);

    /// <summary>
    /// ML.NET's version header of this library's models. ML.NET's own version check stays constant; each payload carries
    /// its format version (EfficientNetTransformer.FormatVersion).
    /// </summary>
    internal static VersionInfo Versions(string modelSignature, string loaderSignature) => new(
        modelSignature: modelSignature,
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: loaderSignature,
        // The simple name: ML.NET loads the assembly by this name, and a full name with this build's version would make
        // an older package (same model format) refuse a zip saved by a newer one. Formats are checked by our payload.
        loaderAssemblyName: typeof(TransformerPersistence).Assembly.GetName().Name);

    /// <summary>Saves: the description through <paramref name="writeDescription"/>, the weights as safetensors.</summary>
    public static void Save(ModelSaveContext context, Action<BinaryWriter> writeDescription, Action<Stream> writeWeights) =>
        MLNetInternalsGuard.Use("model persistence (ModelSaveContext)", () =>
        {
            context.CheckAtModel();
            context.SetVersionInfo(VersionInfo);
            writeDescription(context.Writer);
            context.SaveBinaryStream(WeightsStream, writer => writeWeights(writer.BaseStream));
        });

    /// <summary>Called by ML.NET's model loader.</summary>
    private static EfficientNetTransformer Create(IHostEnvironment environment, ModelLoadContext context) =>
        MLNetInternalsGuard.Use("model persistence (ModelLoadContext)", () => Load(environment, context));

    static EfficientNetTransformer Load(IHostEnvironment environment, ModelLoadContext context)
    {
        context.CheckAtModel(VersionInfo);
        byte[]? weights = null;
        if (!context.TryLoadBinaryStream(WeightsStream, reader => weights = ReadAll(reader.BaseStream)))
            throw new EfficientNetException($"The model zip has no '{WeightsStream}' entry: it was not saved by EfficientNet.MLNet, or it is damaged.");
        return EfficientNetTransformer.Load(environment, context.Reader, weights!);
    }

    static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

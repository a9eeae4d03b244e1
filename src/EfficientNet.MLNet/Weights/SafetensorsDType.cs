using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>The element types this library reads and writes in safetensors files, with their tensor types.</summary>
internal static class SafetensorsDType
{
    static readonly Dictionary<string, ScalarType> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64,
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>The names accepted, for error messages.</summary>
    public static string Known => string.Join(", ", ByName.Keys);

    /// <summary>The tensor type of a safetensors dtype name, or null if unknown.</summary>
    public static ScalarType? ToScalarType(string name) => ByName.TryGetValue(name, out var type) ? type : null;

    /// <summary>The safetensors dtype name of a tensor type.</summary>
    public static string ToName(ScalarType type) =>
        ByName.FirstOrDefault(pair => pair.Value == type).Key
        ?? throw new NotSupportedException($"Tensors of type {type} cannot be written to safetensors by this library.");

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

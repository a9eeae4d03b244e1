using System.Runtime.InteropServices;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's name, e.g. "features.0.0.weight".</param>
/// <param name="DType">The stored dtype name, e.g. "F32".</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Offset">Where its bytes start, from the start of the file.</param>
/// <param name="Length">How many bytes it has.</param>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Offset, long Length);

/// <summary>
/// A safetensors file (the format of Hugging Face's safetensors: an 8-byte little-endian header length, a JSON
/// header of names, dtypes, shapes and byte ranges, then the raw data). Opening validates the whole header
/// against the file's real size before anything is allocated, so a malformed or hostile file is a
/// <see cref="WeightsFormatException"/>, never a crash or an allocation driven by a length it claims.
/// </summary>
/// <remarks>
/// Written here rather than taken from TorchSharp.PyBridge: this reader bounds every length by the file size,
/// rejects overlapping and duplicate entries, and converts F16 and BF16 to F32 on read.
/// </remarks>
public sealed class SafetensorsFile
{
    /// <summary>The largest header accepted (the reference implementation's limit too).</summary>
    public const long MaxHeaderBytes = 100 * 1024 * 1024;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Dictionary<string, SafetensorsEntry> entries;
    private readonly Func<Stream> openData;

    private SafetensorsFile(string path, Func<Stream> openData, Dictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        this.openData = openData;
        this.entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file's path (or the name given to <see cref="FromBytes"/>).</summary>
    public string Path { get; }

    /// <summary>The entries, in the order of their data in the file.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries => entries.Values.OrderBy(entry => entry.Offset).ToList();

    /// <summary>The free-form string metadata of the header's "__metadata__" object (empty if none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Whether the file has a tensor of this name.</summary>
    public bool Contains(string name) => entries.ContainsKey(name);

    /// <summary>Reads and validates the header.</summary>
    /// <exception cref="WeightsFormatException">The file is missing, truncated or malformed; the message says how.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new WeightsFormatException(path, "the file does not exist");
        return Open(path, () => File.OpenRead(path));
    }

    /// <summary>Reads and validates a safetensors file held in memory (e.g. inside a model zip).</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">A name for error messages.</param>
    /// <exception cref="WeightsFormatException">The data is truncated or malformed.</exception>
    public static SafetensorsFile FromBytes(byte[] data, string name)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Open(name, () => new MemoryStream(data, writable: false));
    }

    static SafetensorsFile Open(string path, Func<Stream> openData)
    {
        try
        {
            using var stream = openData();
            var fileLength = stream.Length;
            if (fileLength < 8)
                throw new WeightsFormatException(path, $"the file has {fileLength} bytes, fewer than the 8 of the header length");
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength < 2 || headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
                throw new WeightsFormatException(path, $"the header length {headerLength} does not fit in the file of {fileLength} bytes (at most {Math.Min(MaxHeaderBytes, fileLength - 8)})");
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            var dataStart = 8 + (long)headerLength;
            var (parsed, metadata) = ParseHeader(path, header, dataStart, fileLength - dataStart);
            return new SafetensorsFile(path, openData, parsed, metadata);
        }
        catch (IOException e)
        {
            throw new WeightsFormatException(path, $"it could not be read ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new WeightsFormatException(path, $"it could not be opened ({e.Message})", e);
        }
    }

    /// <summary>Reads one tensor onto the CPU. F16 and BF16 come back as F32; other types as stored.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has this name.</exception>
    public Tensor ReadTensor(string name)
    {
        if (!entries.TryGetValue(name, out var entry))
            throw new KeyNotFoundException($"'{Path}' has no tensor named '{name}'.");
        using var stream = openData();
        return Read(stream, entry);
    }

    /// <summary>
    /// Reads a floating-point tensor's values as float32, without TorchSharp (so without libtorch): F32 as stored,
    /// F16, BF16 and F64 converted as torch converts them. For scoring through ONNX Runtime.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No tensor has this name.</exception>
    /// <exception cref="WeightsFormatException">The tensor is not floating point, or holds NaN or infinite values.</exception>
    public float[] ReadFloats(string name)
    {
        if (!entries.TryGetValue(name, out var entry))
            throw new KeyNotFoundException($"'{Path}' has no tensor named '{name}'.");
        var bytes = new byte[entry.Length];
        using (var stream = openData())
        {
            stream.Seek(entry.Offset, SeekOrigin.Begin);
            stream.ReadExactly(bytes);
        }
        var values = entry.DType switch
        {
            "F32" => MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
            "F64" => MemoryMarshal.Cast<byte, double>(bytes).ToArray().Select(v => (float)v).ToArray(),
            "F16" => MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(v => (float)v).ToArray(),
            // bfloat16 is the upper half of a float32.
            "BF16" => MemoryMarshal.Cast<byte, ushort>(bytes).ToArray().Select(v => BitConverter.Int32BitsToSingle(v << 16)).ToArray(),
            _ => throw new WeightsFormatException(Path, $"the tensor '{name}' has type {entry.DType}; expected a floating-point type"),
        };
        if (!values.All(float.IsFinite))
            throw new WeightsFormatException(Path, $"the tensor '{name}' holds NaN or infinite values");
        return values;
    }

    /// <summary>Reads every tensor onto the CPU (F16 and BF16 as F32). The caller owns (and disposes) them.</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = openData();
            foreach (var entry in Entries)
                tensors.Add(entry.Name, Read(stream, entry));
            return tensors;
        }
        catch
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
            throw;
        }
    }

    Tensor Read(Stream stream, SafetensorsEntry entry)
    {
        var type = SafetensorsDType.ToScalarType(entry.DType)!.Value;
        var tensor = empty(entry.Shape, type);
        try
        {
            if (entry.Length > 0)
            {
                stream.Seek(entry.Offset, SeekOrigin.Begin);
                stream.ReadExactly(tensor.bytes);
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            tensor.Dispose();
            throw new WeightsFormatException(Path, $"the data of '{entry.Name}' could not be read ({e.Message}); the file may have changed since it was opened", e);
        }
        if (type is not (ScalarType.Float16 or ScalarType.BFloat16))
            return tensor;
        using (tensor)
            return tensor.to(ScalarType.Float32);
    }

    static (Dictionary<string, SafetensorsEntry>, IReadOnlyDictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        try
        {
            // JsonDocument checks UTF-8 inside strings only when they are read; check it all up front.
            StrictUtf8.GetCharCount(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new WeightsFormatException(path, "the header is not valid UTF-8 text", e);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new WeightsFormatException(path, "the header is not a JSON object");
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new WeightsFormatException(path, "\"__metadata__\" is not an object of strings");
                    foreach (var item in property.Value.EnumerateObject())
                        metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                            ? item.Value.GetString()!
                            : throw new WeightsFormatException(path, $"metadata '{item.Name}' is not a string");
                    continue;
                }
                var entry = ParseEntry(path, property, dataStart, dataLength);
                if (!entries.TryAdd(entry.Name, entry))
                    throw new WeightsFormatException(path, $"the tensor '{entry.Name}' appears twice in the header");
            }
            RejectOverlaps(path, entries.Values);
            return (entries, metadata);
        }
    }

    static SafetensorsEntry ParseEntry(string path, JsonProperty property, long dataStart, long dataLength)
    {
        var name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
            throw new WeightsFormatException(path, $"the entry '{name}' is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new WeightsFormatException(path, $"the entry '{name}' has no dtype");
        var dtype = dtypeElement.GetString()!;
        var type = SafetensorsDType.ToScalarType(dtype)
            ?? throw new WeightsFormatException(path, $"the entry '{name}' has dtype '{dtype}', which this library does not read (it reads {SafetensorsDType.Known})");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new WeightsFormatException(path, $"the entry '{name}' has no shape array");
        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        var i = 0;
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out var size) || size < 0)
                throw new WeightsFormatException(path, $"the entry '{name}' has a shape that is not a list of non-negative integers");
            shape[i++] = size;
            // Bounded by the data length, so the product cannot overflow before it is rejected.
            elements = size == 0 ? 0 : elements > dataLength / size ? dataLength + 1 : elements * size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new WeightsFormatException(path, $"the entry '{name}' has no [begin, end] data_offsets");
        var begin = ReadOffset(path, name, offsetsElement[0]);
        var end = ReadOffset(path, name, offsetsElement[1]);
        if (begin > end || end > dataLength)
            throw new WeightsFormatException(path, $"the entry '{name}' has data_offsets [{begin}, {end}] outside the {dataLength} bytes of data");
        var expected = elements * SafetensorsDType.ElementSize(type);
        if (elements > dataLength || expected != end - begin)
            throw new WeightsFormatException(path, $"the entry '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtype} needs {(elements > dataLength ? "more than the file's" : expected.ToString())} bytes, but its data_offsets span {end - begin}");
        if (end - begin > int.MaxValue)
            throw new WeightsFormatException(path, $"the entry '{name}' has {end - begin} bytes; tensors over 2 GiB are not supported");
        return new SafetensorsEntry(name, dtype, shape, dataStart + begin, end - begin);
    }

    static long ReadOffset(string path, string name, JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var offset) && offset >= 0
            ? offset
            : throw new WeightsFormatException(path, $"the entry '{name}' has a data offset that is not a non-negative integer");

    static void RejectOverlaps(string path, IEnumerable<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (var entry in entries.Where(e => e.Length > 0).OrderBy(e => e.Offset))
        {
            if (previous is not null && entry.Offset < previous.Offset + previous.Length)
                throw new WeightsFormatException(path, $"the data of '{entry.Name}' overlaps the data of '{previous.Name}'");
            previous = entry;
        }
    }
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>Writes tensors as a safetensors file that PyTorch's <c>safetensors.torch.load_file</c> reads.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes the tensors in the given order. The file appears whole or not at all: it is written beside the
    /// target under a temporary name and renamed over it at the end.
    /// </summary>
    /// <param name="path">The file to write (replaced if it exists).</param>
    /// <param name="tensors">Named tensors; any device, any layout (they are copied to contiguous CPU memory).</param>
    /// <param name="metadata">Optional string metadata, stored under "__metadata__".</param>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write);
            Write(stream, tensors, metadata);
            stream.Flush(flushToDisk: true);
        });
    }

    /// <summary>Writes the tensors, in the given order, to a stream (e.g. an entry of a model zip).</summary>
    public static void Write(Stream stream, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var duplicate = list.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"The tensor name '{duplicate.Key}' appears twice.", nameof(tensors));

        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
            header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, tensor) in list)
        {
            var length = tensor.numel() * SafetensorsDType.ElementSize(tensor.dtype);
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = SafetensorsDType.ToName(tensor.dtype),
                ["shape"] = tensor.shape,
                ["data_offsets"] = new[] { offset, offset + length },
            };
            offset += length;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        var padding = (8 - json.Length % 8) % 8;

        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)(json.Length + padding));
        stream.Write(lengthBytes);
        stream.Write(json);
        stream.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        foreach (var (_, tensor) in list)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            if (cpu.numel() > 0)
                stream.Write(cpu.bytes);
        }
    }
}

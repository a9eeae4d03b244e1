using System.Security.Cryptography;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// Frames the transformer's description in a model zip: its length, its bytes, and a SHA-256 over the description
/// and the weights entry. A flipped byte anywhere in either (which ML.NET's zip reader does not always notice) is
/// then an error on load instead of a silently different model.
/// </summary>
internal static class ChecksummedPayload
{
    /// <summary>The largest description accepted: far above a million class names and a long history.</summary>
    public const int MaxPayloadBytes = 256 * 1024 * 1024;

    public static void Write(BinaryWriter writer, byte[] payload, byte[] weights)
    {
        writer.Write(payload.Length);
        writer.Write(payload);
        writer.Write(Hash(payload, weights));
    }

    /// <summary>Reads the description and checks it and <paramref name="weights"/> against the stored hash.</summary>
    /// <exception cref="EfficientNetException">The length is out of range, the data ends early, or the hash differs.</exception>
    public static byte[] Read(BinaryReader reader, byte[] weights)
    {
        var length = reader.ReadInt32();
        if (length is < 0 or > MaxPayloadBytes)
            throw new EfficientNetException($"The model zip's EfficientNet description declares {length} bytes: the file is damaged. Save the model again, or use a backup.");
        var payload = ReadExactly(reader.BaseStream, length);
        var stored = ReadExactly(reader.BaseStream, SHA256.HashSizeInBytes);
        if (!CryptographicOperations.FixedTimeEquals(stored, Hash(payload, weights)))
            throw new EfficientNetException("The model zip's EfficientNet description or weights do not match their SHA-256 checksum: the file is damaged. Save the model again, or use a backup.");
        return payload;
    }

    static byte[] Hash(byte[] payload, byte[] weights)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(payload);
        hash.AppendData(weights);
        return hash.GetHashAndReset();
    }

    // Grows with the bytes actually present, so a damaged length cannot allocate more than the entry holds.
    static byte[] ReadExactly(Stream stream, int count)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[Math.Min(count, 1 << 20)];
        while (buffer.Length < count)
        {
            var read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, count - buffer.Length));
            if (read == 0)
                throw new EfficientNetException("The model zip's EfficientNet description ends early: the file is truncated. Save the model again, or use a backup.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace EfficientNet.MLNet.Tests;

/// <summary>Small files that declare huge images (decompression bombs), made here byte by byte.</summary>
internal static class HostileImages
{
    /// <summary>
    /// A valid PNG declaring <paramref name="width"/> x <paramref name="height"/> black RGB pixels: complete up to 8 MB of
    /// rows, the rest cut off (a decoder that allocates from the header asks for width x height x 4 bytes).
    /// </summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        Chunk(file, "IHDR", header);
        using var rows = new MemoryStream();
        using (var zlib = new ZLibStream(rows, CompressionLevel.SmallestSize, leaveOpen: true))
            zlib.Write(new byte[Math.Min((long)height * (3L * width + 1), 8 << 20)]); // every row (filter byte + RGB) up to 8 MB
        Chunk(file, "IDAT", rows.ToArray());
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        file.Write(length);
        var typeAndData = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        file.Write(typeAndData);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typeAndData));
        file.Write(crc);
    }
}

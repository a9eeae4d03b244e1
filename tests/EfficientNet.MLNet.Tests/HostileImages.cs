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

    /// <summary>A real small JPEG (Skia's encoder) whose frame header (SOF0) then declares <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static byte[] JpegDeclaring(ushort width, ushort height)
    {
        var jpeg = Encoded(SkiaSharp.SKEncodedImageFormat.Jpeg);
        var frame = MarkerAt(jpeg, 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(frame + 5), height); // FF C0, length (2), precision (1), height, width
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(frame + 7), width);
        return jpeg;
    }

    /// <summary>A real small WebP (Skia's lossy encoder) whose VP8 frame header then declares 16383 x 16383 (its largest).</summary>
    public static byte[] WebPDeclaringLargest()
    {
        var webp = Encoded(SkiaSharp.SKEncodedImageFormat.Webp, quality: 80);
        var chunk = IndexOf(webp, "VP8 "u8) + 8; // the chunk's data: a 3-byte frame tag, the start code 9D 01 2A, width, height
        if (chunk < 8 || webp[chunk + 3] != 0x9D || webp[chunk + 4] != 0x01 || webp[chunk + 5] != 0x2A)
            throw new InvalidOperationException("Skia's WebP encoder wrote no simple lossy VP8 chunk.");
        BinaryPrimitives.WriteUInt16LittleEndian(webp.AsSpan(chunk + 6), 0x3FFF); // 14 bits of width, no scaling
        BinaryPrimitives.WriteUInt16LittleEndian(webp.AsSpan(chunk + 8), 0x3FFF);
        return webp;
    }

    /// <summary>A GIF made byte by byte: one 2-colour frame of one pixel's data whose screen and frame declare <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static byte[] GifDeclaring(ushort width, ushort height)
    {
        using var file = new MemoryStream();
        file.Write("GIF89a"u8);
        WriteSize(file, width, height);
        file.Write([0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]); // a global table of 2 colours, black and white
        file.WriteByte(0x2C); // the image descriptor: left, top, width, height, no local table
        file.Write([0, 0, 0, 0]);
        WriteSize(file, width, height);
        file.WriteByte(0);
        file.Write([2, 2, 0x4C, 0x01, 0, 0x3B]); // LZW minimum code size, one sub-block, its end, the trailer
        return file.ToArray();
    }

    /// <summary>A BMP made byte by byte: a 24-bit header declaring <paramref name="width"/> x <paramref name="height"/> and one row of pixels.</summary>
    public static byte[] BmpDeclaring(int width, int height)
    {
        var rowBytes = (3 * width + 3) / 4 * 4;
        var bytes = new byte[54 + rowBytes];
        "BM"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54); // where the pixels start
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40); // BITMAPINFOHEADER
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1); // planes
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24); // bits per pixel, no compression
        return bytes;
    }

    /// <summary>A small file of each format Skia decodes whose header declares far more pixels than any budget allows.</summary>
    public static IReadOnlyList<(string Format, byte[] Bytes, int Width, int Height)> BombsOfEveryFormat() =>
    [
        ("PNG", PngDeclaring(40_000, 40_000), 40_000, 40_000),
        ("JPEG", JpegDeclaring(65_000, 65_000), 65_000, 65_000),
        ("GIF", GifDeclaring(65_535, 65_535), 65_535, 65_535),
        ("WebP", WebPDeclaringLargest(), 16_383, 16_383),
        ("BMP", BmpDeclaring(40_000, 40_000), 40_000, 40_000),
    ];

    /// <summary>The first <paramref name="fraction"/> of a file's bytes, as an interrupted upload or copy leaves it.</summary>
    public static byte[] Truncated(byte[] file, double fraction = 0.5) => file[..Math.Max(1, (int)(file.Length * fraction))];

    static void WriteSize(Stream file, ushort width, ushort height)
    {
        Span<byte> size = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(size, width);
        BinaryPrimitives.WriteUInt16LittleEndian(size[2..], height);
        file.Write(size);
    }

    // A 16 x 16 grey-and-colour image in a format Skia encodes.
    static byte[] Encoded(SkiaSharp.SKEncodedImageFormat format, int quality = 90)
    {
        using var bitmap = new SkiaSharp.SKBitmap(16, 16);
        for (var y = 0; y < 16; y++)
            for (var x = 0; x < 16; x++)
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)(x * 16), (byte)(y * 16), 128));
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    static int MarkerAt(byte[] jpeg, byte marker)
    {
        for (var i = 2; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker)
                return i;
        throw new InvalidOperationException($"The JPEG has no marker FF {marker:X2}.");
    }

    static int IndexOf(byte[] bytes, ReadOnlySpan<byte> what) => bytes.AsSpan().IndexOf(what);

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

using System.Buffers.Binary;
using SkiaSharp;

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// Whether an encoded image's file reaches the end its format marks, read from its structure without decoding a pixel:
/// a truncated file (an interrupted upload, download or copy) whose header is intact. Decoders that fill what is missing
/// (ML.NET's LoadImages, Skia's Decode) score a half-grey image without a word; this lets every door refuse it alike,
/// before the image reaches such a decoder. PNG: an IEND chunk; JPEG: the end-of-image marker after the first scan;
/// WebP: the RIFF size; BMP: the file size its header declares. GIF (whose trailer many writers omit) and damage in the
/// middle of a file are left to the decoder, which the library's bytes path checks.
/// </summary>
internal static class EncodedImageEnd
{
    /// <summary>True when the bytes reach the end their format marks (or the format has no such mark checked here).</summary>
    public static bool IsComplete(ReadOnlySpan<byte> encoded, SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Png => encoded.LastIndexOf("IEND"u8) >= 8,
        SKEncodedImageFormat.Jpeg => JpegEnds(encoded),
        SKEncodedImageFormat.Webp => encoded.Length >= 12 && BinaryPrimitives.ReadUInt32LittleEndian(encoded[4..]) + 8L <= encoded.Length,
        SKEncodedImageFormat.Bmp => encoded.Length >= 6 && BinaryPrimitives.ReadUInt32LittleEndian(encoded[2..]) is var size && (size == 0 || size <= encoded.Length),
        _ => true,
    };

    // Walks the marker segments up to the first scan (an EXIF thumbnail, with its own end marker, lives in a segment
    // before it), then looks for the end-of-image marker after it: inside entropy-coded data 0xFF is always followed
    // by 0x00 or a restart marker, never by 0xD9.
    static bool JpegEnds(ReadOnlySpan<byte> jpeg)
    {
        var at = 2;
        while (at + 4 <= jpeg.Length)
        {
            if (jpeg[at] != 0xFF)
                return true; // not the layout walked here: leave it to the decoder
            var marker = jpeg[at + 1];
            if (marker == 0xFF)
            {
                at++; // fill byte
                continue;
            }
            if (marker == 0xDA)
                return jpeg[at..].IndexOf([(byte)0xFF, (byte)0xD9]) >= 0;
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                at += 2; // markers without a length
                continue;
            }
            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
        }
        return false; // the file ends before its first scan
    }
}

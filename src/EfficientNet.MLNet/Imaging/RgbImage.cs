using Microsoft.ML.Data;
using SkiaSharp;

namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// Turns any image the trainer accepts (encoded bytes, an <see cref="MLImage"/>, planar float pixels) into planar
/// RGB bytes of one square size: <c>3 * size * size</c> values, the red plane first. Images of any size are
/// stretched to the square (as ML.NET's ResizeImages does by default); grayscale becomes three equal planes
/// and transparency is composited over black (the premultiplied colours ML.NET's LoadImages gives, so that every door
/// agrees).
/// </summary>
internal static class RgbImage
{
    /// <summary>Decodes PNG, JPEG, BMP, GIF or WebP bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image Skia can decode.</exception>
    public static byte[] FromEncoded(ReadOnlySpan<byte> encoded, int size)
    {
        using var decoded = Decode(encoded);
        return FromBitmap(decoded, size);
    }

    /// <summary>
    /// torchvision's evaluation preprocessing for pretrained weights: the shorter side resized to
    /// <paramref name="resizeSize"/> (aspect kept; the longer side truncated as torchvision computes it) with Pillow's
    /// antialiased filter (<see cref="Resampling"/>), then the centre <paramref name="cropSize"/> square (its offset
    /// rounded half to even, as Python's round).
    /// </summary>
    public static byte[] FromEncodedCentreCrop(ReadOnlySpan<byte> encoded, int resizeSize, int cropSize, ResizeInterpolation interpolation = ResizeInterpolation.Bicubic)
    {
        if (cropSize > resizeSize)
            throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, $"the crop is larger than the resize size {resizeSize}");
        using var decoded = Decode(encoded);
        var (sourceWidth, sourceHeight) = (decoded.Width, decoded.Height);
        var rgb = Interleaved(decoded);
        var (longWidth, longHeight) = sourceWidth <= sourceHeight
            ? (resizeSize, (long)resizeSize * sourceHeight / sourceWidth)
            : ((long)resizeSize * sourceWidth / sourceHeight, (long)resizeSize);
        // A 65000 x 1 image would become 16.6 million x 256 pixels before the crop: refuse instead of overflowing.
        if (longWidth * longHeight > ImageLimits.MaxPixels)
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the {sourceWidth}x{sourceHeight} image is too elongated for the centre crop: resizing its shorter side to {resizeSize} makes it {longWidth}x{longHeight} = {longWidth * longHeight:N0} pixels, more than the limit of {ImageLimits.MaxPixels:N0} (ImageLimits.MaxPixels); crop it closer to a square first"));
        var (width, height) = ((int)longWidth, (int)longHeight);
        var resized = Resampling.ResizeRgb(rgb, sourceWidth, sourceHeight, width, height, interpolation);
        var top = (int)Math.Round((height - cropSize) / 2.0);
        var left = (int)Math.Round((width - cropSize) / 2.0);
        var plane = cropSize * cropSize;
        var planar = new byte[3 * plane];
        for (var y = 0; y < cropSize; y++)
            for (var x = 0; x < cropSize; x++)
                for (var c = 0; c < 3; c++)
                    planar[c * plane + y * cropSize + x] = resized[3 * ((top + y) * width + left + x) + c];
        return planar;
    }

    // Interleaved RGB bytes (alpha dropped) of a decoded image of any pixel format.
    static byte[] Interleaved(SKBitmap bitmap)
    {
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var source = rgba ?? bitmap;
        if (source is null)
            throw new InvalidDataException("the image has a pixel format that cannot be converted to RGB");
        var pixels = PixelBytes(source);
        var count = source.Width * source.Height;
        var rgb = new byte[3 * count];
        for (var i = 0; i < count; i++)
        {
            rgb[3 * i] = pixels[4 * i];
            rgb[3 * i + 1] = pixels[4 * i + 1];
            rgb[3 * i + 2] = pixels[4 * i + 2];
        }
        return rgb;
    }

    // The bitmap's pixel bytes. SKBitmap.GetPixelSpan returns a ReadOnlySpan in SkiaSharp 2.88 and a Span in 3.x (a
    // MissingMethodException for a library built against the other); GetPixels and ByteCount are the same in both.
    static unsafe ReadOnlySpan<byte> PixelBytes(SKBitmap bitmap) => new((void*)bitmap.GetPixels(), bitmap.ByteCount);

    static SKBitmap Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty)
            throw new InvalidDataException("the image is empty (0 bytes)");
        var problem = $"the {encoded.Length} bytes are not a PNG, JPEG, BMP, GIF or WebP image that can be decoded (truncated or not an image?)";
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data) ?? throw new InvalidDataException(problem);
        // Decode into RGBA ourselves: Skia's Decode accepts a truncated file and returns the part it got.
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        ImageLimits.Check(info.Width, info.Height); // from the header, before any pixel is allocated
        // Transparency is composited over black at every door: premultiplied colours, then opaque. ML.NET's LoadImages
        // hands out premultiplied pixels (the straight colour of a transparent pixel is gone there), so this is the
        // one rule the bytes path and LoadImages can both give exactly (FromMLImage).
        var decoded = new SKBitmap(info with { AlphaType = SKAlphaType.Opaque });
        // Straight colours first (Skia's premultiplying pass costs about a third of a PNG's decoding): where every pixel is
        // opaque they are the premultiplied ones; an image with any transparency is decoded again, premultiplied.
        var result = codec.GetPixels(info with { AlphaType = SKAlphaType.Unpremul }, decoded.GetPixels());
        if (result == SKCodecResult.Success && MakeOpaque(decoded))
            return decoded;
        if (result == SKCodecResult.Success)
            result = codec.GetPixels(info, decoded.GetPixels());
        if (result == SKCodecResult.Success)
        {
            MakeOpaque(decoded);
            return decoded;
        }
        decoded.Dispose();
        throw result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
            ? new InvalidDataException(ImageLimits.Truncated(info.Width, info.Height))
            : new InvalidDataException($"{problem} (Skia: {result})");
    }

    // Alpha bytes set to 255 after a premultiplied decode (the colours are already composited over black); whether they
    // all were 255 already (then straight and premultiplied colours are the same).
    static unsafe bool MakeOpaque(SKBitmap bitmap)
    {
        var pixels = new Span<uint>((void*)bitmap.GetPixels(), bitmap.ByteCount / 4);
        var alpha = BitConverter.IsLittleEndian ? 0xFF000000u : 0x000000FFu; // the fourth byte, RGBA
        var opaque = alpha;
        foreach (ref var pixel in pixels)
        {
            opaque &= pixel;
            pixel |= alpha;
        }
        return opaque == alpha;
    }

    /// <summary>Resizes an image loaded by ML.NET's LoadImages (BGRA or RGBA pixels).</summary>
    public static unsafe byte[] FromMLImage(MLImage image, int size)
    {
        var colorType = image.PixelFormat switch
        {
            MLPixelFormat.Bgra32 => SKColorType.Bgra8888,
            MLPixelFormat.Rgba32 => SKColorType.Rgba8888,
            _ => throw new InvalidDataException($"the image has pixel format {image.PixelFormat}; expected Bgra32 or Rgba32"),
        };
        // LoadImages' pixels are premultiplied: read as opaque they are the image composited over black, as the bytes path
        // decodes it (Decode); an alpha byte below 255 is not looked at.
        var info = new SKImageInfo(image.Width, image.Height, colorType, SKAlphaType.Opaque);
        fixed (byte* pixels = image.Pixels)
        {
            using var bitmap = new SKBitmap();
            if (!bitmap.InstallPixels(info, (IntPtr)pixels, info.RowBytes))
                throw new InvalidDataException($"the {image.Width}x{image.Height} image's pixels could not be read");
            return FromBitmap(bitmap, size);
        }
    }

    /// <summary>
    /// Float pixels with values in 0..255 as ML.NET's ExtractPixels writes them: planar (3, H, W) by default, or
    /// interleaved (H, W, 3) with interleavePixelColors.
    /// </summary>
    public static unsafe byte[] FromFloatPixels(ReadOnlySpan<float> pixels, int height, int width, bool interleavedInput, int size)
    {
        var plane = height * width;
        if (pixels.Length != 3 * plane)
            throw new InvalidDataException($"the pixel vector has {pixels.Length} values; expected 3 x {height} x {width} = {3 * plane}");
        var (pixelStride, channelStride) = interleavedInput ? (3, 1) : (1, plane);
        var interleaved = new byte[plane * 4];
        for (var i = 0; i < plane; i++)
        {
            interleaved[4 * i] = ToByte(pixels[i * pixelStride]);
            interleaved[4 * i + 1] = ToByte(pixels[i * pixelStride + channelStride]);
            interleaved[4 * i + 2] = ToByte(pixels[i * pixelStride + 2 * channelStride]);
            interleaved[4 * i + 3] = 255;
        }
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        fixed (byte* source = interleaved)
            Buffer.MemoryCopy(source, (void*)bitmap.GetPixels(), interleaved.Length, interleaved.Length);
        return FromBitmap(bitmap, size);
    }

    static byte ToByte(float value) => value <= 0 ? (byte)0 : value >= 255 ? (byte)255 : (byte)MathF.Round(value);

    static byte[] FromBitmap(SKBitmap source, int size)
    {
        var target = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        // Normalize exotic formats (gray, 16-bit, indexed) to RGBA first; Resize then only scales.
        using var rgba = source.ColorType == SKColorType.Rgba8888 || source.ColorType == SKColorType.Bgra8888 ? null : source.Copy(SKColorType.Rgba8888);
        var input = rgba ?? source;
        if (input is null || input.Width == 0 || input.Height == 0)
            throw new InvalidDataException("the image has no pixels or a pixel format that cannot be converted to RGB");
        // An image of the size already is read as it is (SKBitmap.Copy costs twice a PNG's decoding); any other is scaled.
        var sameSize = input.Width == size && input.Height == size;
        using var resized = sameSize
            ? null
            : input.Resize(target, SKFilterQuality.Medium)
              ?? throw new InvalidDataException($"the {input.Width}x{input.Height} image could not be resized to {size}x{size}");
        var pixels = resized ?? input;
        if (pixels.ColorType is not (SKColorType.Rgba8888 or SKColorType.Bgra8888))
            throw new InvalidDataException($"the image has pixel format {pixels.ColorType} after conversion; expected RGBA or BGRA");
        return Planar(PixelBytes(pixels), size * size, redFirst: pixels.ColorType == SKColorType.Rgba8888);
    }

    // Planar RGB from RGBA (or BGRA) bytes: one 32-bit read per pixel, its bytes shifted out (the bounds checked once).
    static unsafe byte[] Planar(ReadOnlySpan<byte> pixels, int plane, bool redFirst)
    {
        if (pixels.Length < 4 * plane)
            throw new InvalidDataException($"the image holds {pixels.Length} bytes; expected 4 x {plane}");
        var planar = new byte[3 * plane];
        var (redShift, blueShift) = (redFirst ? 0 : 16, redFirst ? 16 : 0);
        if (!BitConverter.IsLittleEndian)
            (redShift, blueShift) = (24 - redShift, 24 - blueShift);
        var greenShift = BitConverter.IsLittleEndian ? 8 : 16;
        fixed (byte* source = pixels)
        fixed (byte* target = planar)
        {
            var rgba = (uint*)source;
            byte* red = target, green = target + plane, blue = target + 2 * plane;
            for (var i = 0; i < plane; i++)
            {
                var pixel = rgba[i];
                red[i] = (byte)(pixel >> redShift);
                green[i] = (byte)(pixel >> greenShift);
                blue[i] = (byte)(pixel >> blueShift);
            }
        }
        return planar;
    }
}

using System.Buffers;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace EfficientNet.MLNet.WebService;

/// <summary>
/// Reads an uploaded image: the form field "image" of a multipart form, or the request body itself. The body is read
/// once, into memory bounded by the limit, then parsed; too large (bytes, or pixels declared in the header: ImageLimits),
/// too slow, empty, a malformed form, or not an image gives the 4xx result to send, with a JSON message that says what
/// was expected.
/// </summary>
public static class Upload
{
    /// <summary>What a multipart form may add around the file (boundaries, part headers, other small fields).</summary>
    public const long FormOverhead = 64 * 1024;

    public static async Task<(byte[]? Image, IResult? Problem)> ReadAsync(HttpRequest request, long maxBytes)
    {
        var limit = maxBytes + (request.HasFormContentType ? FormOverhead : 0);
        if (request.ContentLength > limit)
            return (null, TooLarge(request.ContentLength.Value, maxBytes)); // Kestrel drains the rest (MaxDrainedBytes)
        ArraySegment<byte> body;
        try
        {
            body = await ReadBodyAsync(request, limit);
        }
        catch (BodyTooLargeException)
        {
            return (null, TooLarge(maxBytes, maxBytes, exact: false)); // "more than the limit": the rest was never read
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own refusals while the body arrives: too slow (408, below its minimum data rate), cut off (400).
            var reason = e.StatusCode == StatusCodes.Status408RequestTimeout
                ? "The upload arrived too slowly and was stopped: send it at a steady rate."
                : $"The upload could not be read ({e.Message}).";
            return (null, Results.Json(new { error = reason }, statusCode: e.StatusCode));
        }
        byte[] bytes;
        if (request.HasFormContentType)
        {
            try
            {
                // Parsed from the body already in memory (ASP.NET Core's form reader would buffer a file part again,
                // on disk past 64 KB): the field "image", or else the first file.
                if (await FileInForm(request, body) is not { } file)
                    return (null, Results.BadRequest(new { error = "The form has no file: send the image in the form field 'image'." }));
                bytes = file;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
            {
                // A body that says it is a form and is not one: a missing boundary, a cut-off part, a bad header.
                return (null, Results.BadRequest(new { error = $"The form could not be read ({e.Message}): send multipart/form-data with the image in the field 'image', or the image itself as the body." }));
            }
            if (bytes.Length > maxBytes)
                return (null, TooLarge(bytes.Length, maxBytes));
        }
        else
        {
            bytes = body.Count == body.Array!.Length ? body.Array : body.ToArray();
        }
        if (bytes.Length == 0)
            return (null, Results.BadRequest(new { error = "The upload is empty: send a PNG, JPEG, BMP, GIF or WebP image in the form field 'image' or as the request body." }));
        try
        {
            // The header only: a 2 KB file can declare 65000 x 65000 pixels, and nothing is decoded before this passes.
            ImageLimits.CheckEncoded(bytes);
        }
        catch (InvalidDataException e) when (e.InnerException is ImageTooLargeException tooLarge)
        {
            return (null, Results.Json(new { error = $"The upload: {tooLarge.Message}", maxPixels = tooLarge.MaxPixels }, statusCode: StatusCodes.Status422UnprocessableEntity));
        }
        catch (InvalidDataException e)
        {
            // Not an image, or one cut off before its end (the chain's LoadImages would fill it with grey and score it).
            return (null, Results.BadRequest(new { error = $"The upload: {e.Message}. Send a complete PNG, JPEG, BMP, GIF or WebP image." }));
        }
        return (bytes, null);
    }

    // The whole body, or BodyTooLargeException as soon as it passes the limit (a body without Content-Length is not
    // trusted to end): memory per request is bounded by the limit. Read into one buffer of the announced length when
    // there is one (no copy after), through a pooled chunk otherwise.
    static async Task<ArraySegment<byte>> ReadBodyAsync(HttpRequest request, long limit)
    {
        using var copy = new MemoryStream(request.ContentLength is { } length ? (int)length : 81920);
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk.AsMemory(0, 81920), request.HttpContext.RequestAborted)) > 0)
            {
                copy.Write(chunk, 0, read);
                if (copy.Length > limit)
                    throw new BodyTooLargeException();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return new ArraySegment<byte>(copy.GetBuffer(), 0, (int)copy.Length);
    }

    // The bytes of the form's file field "image", else of its first file, else null.
    static async Task<byte[]?> FileInForm(HttpRequest request, ArraySegment<byte> body)
    {
        var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(request.ContentType).Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
            throw new InvalidDataException("the multipart/form-data content type names no boundary");
        var reader = new MultipartReader(boundary, new MemoryStream(body.Array!, body.Offset, body.Count, writable: false));
        byte[]? first = null;
        while (await reader.ReadNextSectionAsync(request.HttpContext.RequestAborted) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
                continue; // a plain field
            using var file = new MemoryStream();
            await section.Body.CopyToAsync(file, request.HttpContext.RequestAborted);
            if (disposition.Name.Value == "image")
                return file.ToArray();
            first ??= file.ToArray();
        }
        return first;
    }

    static IResult TooLarge(long length, long maxBytes, bool exact = true) =>
        Results.Json(new { error = $"The upload is {(exact ? "" : "more than ")}{length} bytes; the limit is {maxBytes} (MaxUploadBytes). Send a smaller image." },
            statusCode: StatusCodes.Status413PayloadTooLarge);

    sealed class BodyTooLargeException : Exception;
}

namespace EfficientNet.MLNet.WebService;

/// <summary>
/// Reads an uploaded image: the form field "image" of a multipart form, or the request body itself. Too large (bytes, or
/// pixels declared in the header: ImageLimits), empty, a malformed form, or not an image gives the 4xx result to send,
/// with a JSON message that says what was expected.
/// </summary>
public static class Upload
{
    public static async Task<(byte[]? Image, IResult? Problem)> ReadAsync(HttpRequest request, long maxBytes)
    {
        if (request.ContentLength > maxBytes + (request.HasFormContentType ? 64 * 1024 : 0))
            return (null, TooLarge(request.ContentLength.Value, maxBytes));
        byte[] bytes;
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync();
            }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
            {
                // A body that says it is a form and is not one: a missing boundary, a cut-off part, a bad header.
                return (null, Results.BadRequest(new { error = $"The form could not be read ({e.Message}): send multipart/form-data with the image in the field 'image', or the image itself as the body." }));
            }
            var file = form.Files.GetFile("image") ?? form.Files.FirstOrDefault();
            if (file is null)
                return (null, Results.BadRequest(new { error = "The form has no file: send the image in the form field 'image'." }));
            if (file.Length > maxBytes)
                return (null, TooLarge(file.Length, maxBytes));
            using var copy = new MemoryStream();
            await file.CopyToAsync(copy);
            bytes = copy.ToArray();
        }
        else
        {
            using var copy = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = await request.Body.ReadAsync(buffer)) > 0)
            {
                copy.Write(buffer, 0, read);
                if (copy.Length > maxBytes)
                    return (null, TooLarge(copy.Length, maxBytes));
            }
            bytes = copy.ToArray();
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
        catch (InvalidDataException)
        {
            return (null, Results.BadRequest(new { error = $"The upload ({bytes.Length} bytes) is not a PNG, JPEG, BMP, GIF or WebP image." }));
        }
        return (bytes, null);
    }

    static IResult TooLarge(long length, long maxBytes) =>
        Results.Json(new { error = $"The upload is {length} bytes; the limit is {maxBytes} (MaxUploadBytes). Send a smaller image." }, statusCode: StatusCodes.Status413PayloadTooLarge);
}

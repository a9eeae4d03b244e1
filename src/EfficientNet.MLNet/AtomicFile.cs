namespace EfficientNet.MLNet;

/// <summary>Writes a file whole or not at all: into a temporary file beside it, renamed over it at the end.</summary>
internal static class AtomicFile
{
    /// <summary>Calls <paramref name="writeTo"/> with a temporary path in the target's folder, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> writeTo)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            writeTo(temporary);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }
}

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// A note beside a cached weights file that its SHA-256 was checked: the hash it matched, and the file's length and
/// last write time then. A cache hit trusts the file only while the note matches it, so a file changed on disk (or
/// placed by hand) is hashed again before it is used, and a large file is not hashed on every load.
/// </summary>
internal static class VerifiedStamp
{
    static string PathFor(string file) => file + ".verified";

    /// <summary>Whether <paramref name="file"/> exists and was checked against <paramref name="sha256"/> as it is now.</summary>
    public static bool Matches(string file, string sha256)
    {
        var stamp = PathFor(file);
        if (!File.Exists(file) || !File.Exists(stamp))
            return false;
        try
        {
            return File.ReadAllText(stamp).Trim() == Describe(file, sha256);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Records that <paramref name="file"/>, as it is now, matched <paramref name="sha256"/>.</summary>
    public static void Write(string file, string sha256) => AtomicFile.Write(PathFor(file), temporary => File.WriteAllText(temporary, Describe(file, sha256)));

    static string Describe(string file, string sha256)
    {
        var info = new FileInfo(file);
        return $"{sha256.ToLowerInvariant()} {info.Length} {info.LastWriteTimeUtc.Ticks}";
    }
}

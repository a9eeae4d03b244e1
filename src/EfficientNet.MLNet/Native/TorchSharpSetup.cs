using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EfficientNet.MLNet.Build;
using TorchSharp;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// Loads TorchSharp where no build put its native library next to the application: .NET Interactive notebooks and
/// scripts, which use the packages straight from the NuGet cache. Call <see cref="Initialize"/> once before anything
/// else. On Linux it loads libtorch from its package folder by full path (so that a system libtorch, such as the one
/// Debian's python3-torch installs, is never picked up instead; the version TorchSharp was built for is preferred),
/// then a copy of libLibTorchSharp.so with its GLIBCXX_3.4.32 need marked weak, as the build does for applications
/// (see the README), kept in the library's own cache folder: the NuGet cache is never written. TorchSharp's own
/// loader then finds these libraries already loaded.
/// </summary>
public static class TorchSharpSetup
{
    private static readonly object Gate = new();
    private static string? result;

    /// <summary>Makes TorchSharp's CPU backend ready; safe to call more than once.</summary>
    /// <returns>What was done, for a notebook to show.</returns>
    public static string Initialize()
    {
        lock (Gate)
        {
            if (result is not null)
                return result;
            var prepared = PreloadFromPackageCache();
            InitializeTorchSharp();
            return result = prepared ?? "TorchSharp is ready.";
        }
    }

    // Separate and never inlined: TorchSharp's type initializer (which loads the native library) may run as soon as the
    // JIT compiles a method that touches torch, so no method that runs before the preload may touch it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void InitializeTorchSharp() => torch.InitializeDeviceType(DeviceType.CPU);

    static string? PreloadFromPackageCache()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            return null;
        // An application build has the native files beside it (and the build-time fix applied): nothing to do.
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")) ||
            File.Exists(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so")))
            return null;
        // TorchSharp.dll is at …/packages/torchsharp/VERSION/lib/TFM/ in a package cache.
        var torchSharpFolder = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (string.IsNullOrEmpty(torchSharpFolder))
            return null;
        var packageRoot = Path.GetFullPath(Path.Combine(torchSharpFolder, "..", ".."));
        var packages = Path.GetFullPath(Path.Combine(packageRoot, "..", ".."));
        var original = Path.Combine(packageRoot, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var libtorchPackage = Path.Combine(packages, "libtorch-cpu-linux-x64");
        var version = Directory.Exists(libtorchPackage)
            ? ChooseLibtorchVersion(Directory.GetDirectories(libtorchPackage).Select(Path.GetFileName).OfType<string>()
                .Where(v => File.Exists(Path.Combine(libtorchPackage, v, "runtimes", "linux-x64", "native", "libtorch_cpu.so"))), WantedLibtorchVersion())
            : null;
        if (!File.Exists(original) || version is null)
            return null; // not a package-cache layout TorchSharp's own loader would use: let it report
        var libtorch = Path.Combine(libtorchPackage, version, "runtimes", "linux-x64", "native");

        var patched = PatchedCopy(original);
        // By full path, in dependency order; TorchSharp's loads by name then find these already loaded (by soname).
        foreach (var library in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
            NativeLibrary.Load(Path.Combine(libtorch, library));
        NativeLibrary.Load(patched);
        return $"Loaded libtorch {version} from {libtorch}, and {patched} (libLibTorchSharp.so with its unused GLIBCXX_3.4.32 need marked weak).";
    }

    /// <summary>
    /// A copy of the library with its iostream-marker need marked weak, in the cache folder under a name made from its
    /// content (so a copy is never stale and concurrent processes agree); written atomically once.
    /// </summary>
    internal static string PatchedCopy(string original)
    {
        var bytes = File.ReadAllBytes(original);
        GlibcxxRequirementWeakener.Patch(bytes);
        var name = $"libLibTorchSharp-{Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant()}.so";
        var path = Path.Combine(CacheFolder.Root, "native", name);
        if (!File.Exists(path))
            AtomicFile.Write(path, temporary => File.WriteAllBytes(temporary, bytes));
        return path;
    }

    /// <summary>
    /// The libtorch package version to load: the one TorchSharp was built for if present, else the highest (by
    /// version, not by text: 2.10.0 is above 2.9.0).
    /// </summary>
    internal static string? ChooseLibtorchVersion(IEnumerable<string> available, string? wanted)
    {
        var versions = available.Select(v => (Text: v, Parsed: Version.TryParse(v.Split('-', '+')[0], out var parsed) ? parsed : null))
            .Where(v => v.Parsed is not null).ToList();
        if (wanted is not null && Version.TryParse(wanted, out var target) && versions.FirstOrDefault(v => SameRelease(v.Parsed!, target)) is { Text: { } match })
            return match;
        return versions.OrderByDescending(v => v.Parsed).Select(v => v.Text).FirstOrDefault();
    }

    static bool SameRelease(Version a, Version b) =>
        a.Major == b.Major && a.Minor == b.Minor && Math.Max(a.Build, 0) == Math.Max(b.Build, 0) && Math.Max(a.Revision, 0) == Math.Max(b.Revision, 0);

    // TorchSharp records the libtorch version it was built for as a constant; reading it does not run torch's
    // type initializer (which would load the native libraries before the preload).
    static string? WantedLibtorchVersion() =>
        typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string;
}

using System.Runtime.InteropServices;
using EfficientNet.MLNet.Build;
using TorchSharp;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// Loads TorchSharp where no build put its native library next to the application: .NET Interactive notebooks and
/// scripts, which use the packages straight from the NuGet cache. Call <see cref="Initialize"/> once before anything
/// else. On Linux it loads libtorch from its own package folder by full path first (so that a system libtorch, such
/// as the one Debian's python3-torch installs, is never picked up instead), and, where the system's libstdc++
/// predates GCC 13 (Debian 12, Ubuntu 22.04), a copy of libLibTorchSharp.so with its GLIBCXX_3.4.32 need marked weak,
/// as the build does for applications (see the README). Then it initializes TorchSharp.
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
        var libtorch = Directory.Exists(Path.Combine(packages, "libtorch-cpu-linux-x64"))
            ? Directory.GetDirectories(Path.Combine(packages, "libtorch-cpu-linux-x64"))
                .Select(version => Path.Combine(version, "runtimes", "linux-x64", "native"))
                .Where(native => File.Exists(Path.Combine(native, "libtorch_cpu.so")))
                .OrderByDescending(native => native, StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (!File.Exists(original) || libtorch is null)
            return null; // not a package-cache layout TorchSharp's own loader would use: let it report

        var bytes = File.ReadAllBytes(original);
        var weakened = new List<string>();
        if (GlibcxxRequirementWeakener.FindSystemLibstdcxx() is { } libstdcxx)
        {
            var system = File.ReadAllBytes(libstdcxx);
            weakened = GlibcxxRequirementWeakener.Patch(bytes, version => GlibcxxRequirementWeakener.DefinesVersion(system, version)).Weakened;
        }
        // TorchSharp gathers native files in "cpu" beside TorchSharp.dll and copies only those not yet there.
        var target = Path.Combine(torchSharpFolder, "cpu", "libLibTorchSharp.so");
        if (!File.Exists(target) || !File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            AtomicFile.Write(target, temporary => File.WriteAllBytes(temporary, bytes));
        }
        // By full path, in dependency order; TorchSharp's later loads by name find these already loaded.
        foreach (var library in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
            NativeLibrary.Load(Path.Combine(libtorch, library));
        NativeLibrary.Load(target);
        return $"Loaded libtorch from {libtorch}" +
               (weakened.Count > 0 ? $" and {target}, whose {string.Join(", ", weakened)} need is marked weak (this system's libstdc++ lacks it; only an unused iostream marker needs it)." : ".");
    }
}

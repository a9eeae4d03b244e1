using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using System.Text;

namespace EfficientNet.MLNet;

/// <summary>
/// The processor this process runs on, as a user reads it in <c>lscpu</c>: model name, vendor, family, model and
/// stepping, and the vector extensions libtorch's kernels choose between. Its <see cref="Signature"/> keys the
/// kernel check's remembered verdicts, since which float32 kernels are right depends on exactly this (see
/// <see cref="CpuKernels"/>).
/// </summary>
public sealed record CpuDescription(string ModelName, string Vendor, int? Family, int? Model, int? Stepping, IReadOnlyList<string> VectorExtensions)
{
    // The extensions that decide which of libtorch's (oneDNN's, ATen's, MKL's) kernels run, in lscpu's spelling.
    static readonly string[] Interesting =
    [
        "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni",
        "avx512_bf16", "avx512_fp16", "avx512vbmi", "avx512_vbmi2", "avx512ifma", "avx512_bitalg", "avx512_vpopcntdq",
        "avx512_vp2intersect", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2",
    ];

    /// <summary>The processor of this machine (after <see cref="Interesting"/>, which reading it needs).</summary>
    public static CpuDescription Current { get; } = Read();

    /// <summary>One line: "AMD EPYC (AuthenticAMD, family 26, model 2, stepping 1; avx2 avx512f ...)".</summary>
    public override string ToString()
    {
        var numbers = string.Join(", ", new[] { ("family", Family), ("model", Model), ("stepping", Stepping) }
            .Where(n => n.Item2 is not null).Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Item1} {n.Item2}")));
        var vendor = string.Join(", ", new[] { Vendor, numbers }.Where(s => s.Length > 0));
        var extensions = VectorExtensions.Count == 0 ? "" : "; " + string.Join(' ', VectorExtensions);
        return $"{ModelName} ({vendor}{extensions})";
    }

    /// <summary>A short key that changes when the processor or its vector extensions do.</summary>
    public string Signature => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"{ModelName}|{Vendor}|{Family}|{Model}|{Stepping}|{string.Join(' ', VectorExtensions)}|{RuntimeInformation.ProcessArchitecture}")))[..16].ToLowerInvariant();

    static CpuDescription Read()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && TryReadProcCpuInfo() is { } linux)
            return linux;
        return new CpuDescription(Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? RuntimeInformation.ProcessArchitecture.ToString(),
            "", null, null, null, FromIntrinsics());
    }

    /// <summary>Parses the first processor of a /proc/cpuinfo text (x86 and Arm spell their fields differently).</summary>
    internal static CpuDescription? Parse(string cpuinfo)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in cpuinfo.Split('\n'))
        {
            if (line.Trim().Length == 0 && fields.Count > 0)
                break; // the first processor only: the others are alike
            var colon = line.IndexOf(':');
            if (colon > 0)
                fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
        }
        if (fields.Count == 0)
            return null;
        int? Number(string key) => fields.TryGetValue(key, out var text) && int.TryParse(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text,
            text.StartsWith("0x", StringComparison.Ordinal) ? NumberStyles.HexNumber : NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
        var flags = (fields.GetValueOrDefault("flags") ?? fields.GetValueOrDefault("Features") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return new CpuDescription(
            fields.GetValueOrDefault("model name") ?? fields.GetValueOrDefault("Processor") ?? RuntimeInformation.ProcessArchitecture.ToString(),
            fields.GetValueOrDefault("vendor_id") ?? fields.GetValueOrDefault("CPU implementer") ?? "",
            Number("cpu family") ?? Number("CPU architecture"), Number("model") ?? Number("CPU part"), Number("stepping") ?? Number("CPU revision"),
            Interesting.Where(flags.Contains).ToArray());
    }

    static CpuDescription? TryReadProcCpuInfo()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    static string[] FromIntrinsics()
    {
        var found = new List<string>();
        if (Avx.IsSupported) found.Add("avx");
        if (Avx2.IsSupported) found.Add("avx2");
        if (Fma.IsSupported) found.Add("fma");
        if (Avx512F.IsSupported) found.Add("avx512f");
        if (Avx512BW.IsSupported) found.Add("avx512bw");
        if (Avx512DQ.IsSupported) found.Add("avx512dq");
        if (Avx512Vbmi.IsSupported) found.Add("avx512vbmi");
        return found.ToArray();
    }
}

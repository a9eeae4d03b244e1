using System.Globalization;
using System.Reflection;
using System.Text.Json;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// The known pretrained weights, by name: the built-in manifest (torchvision's published EfficientNet weights), plus
/// the entries of the JSON file that <c>EFFICIENTNET_WEIGHTS_MANIFEST</c> names (a mirror or private weights), which are
/// added and, by name, replace built-in ones. A manifest is <c>{"weights": [entries]}</c>; see the README for the fields.
/// </summary>
public sealed class WeightsRegistry
{
    /// <summary>The environment variable that names an extra manifest.</summary>
    public const string ManifestVariable = "EFFICIENTNET_WEIGHTS_MANIFEST";

    /// <summary>The name that means a variant's default ImageNet weights (torchvision's DEFAULT).</summary>
    public const string ImageNet = "imagenet";

    const string BuiltIn = "the built-in manifest";
    static readonly object Gate = new();
    static (string? Variable, WeightsRegistry Registry)? current;

    private WeightsRegistry(IReadOnlyList<PretrainedWeights> all) => All = all;

    /// <summary>Every known entry.</summary>
    public IReadOnlyList<PretrainedWeights> All { get; }

    /// <summary>The built-in entries and those of <c>EFFICIENTNET_WEIGHTS_MANIFEST</c> as it is set now.</summary>
    /// <exception cref="WeightsManifestException">A manifest is malformed; the message names the file, entry and field.</exception>
    public static WeightsRegistry Current
    {
        get
        {
            var variable = Environment.GetEnvironmentVariable(ManifestVariable);
            lock (Gate)
            {
                if (current is not { } known || known.Variable != variable)
                    current = (variable, Load(string.IsNullOrWhiteSpace(variable) ? null : variable));
                return current.Value.Registry;
            }
        }
    }

    /// <summary>The built-in entries, and those of <paramref name="extraManifest"/> (a JSON file), which replace built-in ones by name.</summary>
    public static WeightsRegistry Load(string? extraManifest)
    {
        var entries = Parse(ReadResource("pretrained-weights.json"), BuiltIn).ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        if (extraManifest is not null)
        {
            string json;
            try
            {
                json = File.ReadAllText(extraManifest);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new WeightsManifestException(extraManifest, $"it cannot be read ({e.Message}); check the path in {ManifestVariable}", e);
            }
            foreach (var entry in Parse(json, extraManifest))
                entries[entry.Name] = entry;
        }
        return new WeightsRegistry(entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// The weights a name means: an entry's name ("efficientnet_b0.IMAGENET1K_V1", any case), "imagenet" (the default
    /// weights of <paramref name="version"/>), or a variant's name as torchvision writes it ("efficientnet_b1", its default).
    /// </summary>
    /// <returns>The entry, or null when the name means none.</returns>
    public PretrainedWeights? Find(string name, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim();
        if (All.FirstOrDefault(e => e.Name.Equals(key, StringComparison.OrdinalIgnoreCase)) is { } exact)
            return exact;
        string? architecture = null;
        if (key.Equals(ImageNet, StringComparison.OrdinalIgnoreCase) && version is not null)
            architecture = EfficientNetVariants.Get(version).Name;
        else if ((key.StartsWith("efficientnet", StringComparison.OrdinalIgnoreCase) || key.StartsWith("tf_efficientnet", StringComparison.OrdinalIgnoreCase))
                 && EfficientNetVariants.Find(key) is { } variant)
            architecture = variant.Name; // a model's name as torchvision or timm writes it: its default weights
        return architecture is null ? null : All.FirstOrDefault(e => e.Architecture == architecture && e.IsDefault) ?? All.FirstOrDefault(e => e.Architecture == architecture);
    }

    /// <summary>Like <see cref="Find"/>, but an unknown name is an error listing the known ones.</summary>
    /// <exception cref="ArgumentException">No entry has that name.</exception>
    public PretrainedWeights Get(string name, string? version = null) =>
        Find(name, version) ?? throw new ArgumentException(
            name.Trim().Equals(ImageNet, StringComparison.OrdinalIgnoreCase)
                ? $"\"{ImageNet}\" means a variant's default ImageNet weights: give the version too (b0..b7, v2_s, v2_m, v2_l)."
                : $"No pretrained weights are named \"{name}\" and no such file exists. Known names: {ImageNet} (with a version), {string.Join(", ", All.Select(e => e.Name))}; or give a .safetensors or .pth file.",
            nameof(name));

    /// <summary>
    /// The entry whose file a path holds, or null: among the entries whose file has that name, the one whose SHA-256 the
    /// file's content matches. A file of one's own that merely shares an entry's name (model.safetensors) is no entry,
    /// and so gets no entry's preprocessing or class names.
    /// </summary>
    public PretrainedWeights? FindByFile(string path) => FindIn(All, path);

    /// <summary><see cref="FindByFile"/> among <paramref name="entries"/>.</summary>
    internal static PretrainedWeights? FindIn(IEnumerable<PretrainedWeights> entries, string path)
    {
        var named = entries.Where(e => e.FileName.Equals(Path.GetFileName(path), StringComparison.Ordinal)).ToList();
        if (named.Count == 0)
            return null;
        var hash = WeightsCache.HashOf(path);
        return named.FirstOrDefault(e => hash.StartsWith(e.Sha256, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The class names of a known list ("imagenet-1k"), or null.</summary>
    public static IReadOnlyList<string>? KnownCategories(string name) =>
        name.Equals("imagenet-1k", StringComparison.OrdinalIgnoreCase) ? ImageNetCategories.Value : null;

    static readonly Lazy<IReadOnlyList<string>> ImageNetCategories = new(() =>
        ReadResource("imagenet-1k.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray());

    static string ReadResource(string name)
    {
        using var stream = typeof(WeightsRegistry).Assembly.GetManifestResourceStream($"EfficientNet.MLNet.Weights.{name}")
            ?? throw new InvalidOperationException($"The resource {name} is missing from the EfficientNet.MLNet assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Reads and checks a manifest's entries.</summary>
    /// <exception cref="WeightsManifestException">The JSON or an entry's field is wrong; the message names them.</exception>
    public static IReadOnlyList<PretrainedWeights> Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new WeightsManifestException(source, $"it is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("weights", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new WeightsManifestException(source, "expected an object with a \"weights\" array of entries");
            var entries = list.EnumerateArray().Select((element, index) => Entry(element, index, source)).ToList();
            if (entries.GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
                throw new WeightsManifestException(source, $"the name \"{duplicate.Key}\" is used by more than one entry");
            if (entries.Where(e => e.IsDefault).GroupBy(e => e.Architecture).FirstOrDefault(g => g.Count() > 1) is { } defaults)
                throw new WeightsManifestException(source, $"more than one entry is the default for {defaults.Key}: {string.Join(", ", defaults.Select(e => e.Name))}");
            return entries;
        }
    }

    static PretrainedWeights Entry(JsonElement element, int index, string source)
    {
        var label = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? $"entry {index} (\"{n.GetString()}\")" : $"entry {index}";
        WeightsManifestException Problem(string field, string expected, JsonElement? actual = null) =>
            new(source, $"{label}, field \"{field}\": expected {expected}{(actual is { } a ? $", got {a.GetRawText()}" : " (it is missing)")}");
        if (element.ValueKind != JsonValueKind.Object)
            throw new WeightsManifestException(source, $"{label}: expected an object");
        JsonElement? Field(string name) => element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
        string Text(string name, bool required = true)
        {
            var value = Field(name);
            if (value is { ValueKind: JsonValueKind.String } text && !string.IsNullOrWhiteSpace(text.GetString()))
                return text.GetString()!.Trim();
            if (!required && value is null) return "";
            throw Problem(name, "a non-empty string", value);
        }
        int Integer(string name, int minimum)
        {
            var value = Field(name);
            if (value is { ValueKind: JsonValueKind.Number } number && number.TryGetInt32(out var result) && result >= minimum)
                return result;
            throw Problem(name, $"a whole number of at least {minimum}", value);
        }
        double? Optional(string name)
        {
            var value = Field(name);
            if (value is null) return null;
            if (value is { ValueKind: JsonValueKind.Number } number && double.IsFinite(number.GetDouble()) && number.GetDouble() >= 0)
                return number.GetDouble();
            throw Problem(name, "a number of at least 0", value);
        }
        float[] Triple(string name, float[] fallback, bool positive)
        {
            var value = Field(name);
            if (value is null) return fallback;
            if (value is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() == 3 && array.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number))
            {
                var values = array.EnumerateArray().Select(v => v.GetSingle()).ToArray();
                if (values.All(float.IsFinite) && (!positive || values.All(v => v > 0)))
                    return values;
            }
            throw Problem(name, positive ? "3 positive numbers (R, G, B)" : "3 numbers (R, G, B)", value);
        }

        var name = Text("name");
        var architectureText = Text("architecture");
        string architecture;
        try
        {
            architecture = EfficientNetVariants.Get(architectureText).Name;
        }
        catch (ArgumentException)
        {
            throw Problem("architecture", $"one of {string.Join(", ", EfficientNetVariants.Names)}", Field("architecture"));
        }
        var url = Text("url");
        if (!IsUsableUrl(url))
            throw Problem("url", "an https, http or file URL, or a file path", Field("url"));
        var sha256 = Text("sha256").ToLowerInvariant();
        if (sha256.Length is < 8 or > 64 || !sha256.All(Uri.IsHexDigit))
            throw Problem("sha256", "the file's SHA-256 in hex, or a prefix of at least 8 hex digits", Field("sha256"));
        var crop = Integer("crop", 32);
        var resize = Integer("resize", crop);
        var interpolationText = Text("interpolation", required: false);
        var interpolation = interpolationText.ToLowerInvariant() switch
        {
            "" or "bilinear" => ResizeInterpolation.Bilinear,
            "bicubic" => ResizeInterpolation.Bicubic,
            _ => throw Problem("interpolation", "\"bilinear\" or \"bicubic\"", Field("interpolation")),
        };
        var normalization = new PixelNormalization(Triple("mean", PixelNormalization.ImageNet.Mean.ToArray(), positive: false), Triple("std", PixelNormalization.ImageNet.Std.ToArray(), positive: true));
        IReadOnlyList<string> categories;
        var categoriesField = Field("categories");
        if (categoriesField is null)
            categories = KnownCategories("imagenet-1k")!;
        else if (categoriesField is { ValueKind: JsonValueKind.String } listName && KnownCategories(listName.GetString()!) is { } known)
            categories = known;
        else if (categoriesField is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() >= 2 && array.EnumerateArray().All(c => c.ValueKind == JsonValueKind.String))
            categories = array.EnumerateArray().Select(c => c.GetString()!).ToArray();
        else
            throw Problem("categories", "\"imagenet-1k\" or an array of at least 2 class names", categoriesField);
        var isDefault = Field("default") switch
        {
            null => false,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            var other => throw Problem("default", "true or false", other),
        };
        return new PretrainedWeights(name, architecture, isDefault, url, sha256, resize, crop, interpolation, normalization, categories,
            Optional("top1"), Optional("megabytes"), Text("description", required: false) is { Length: > 0 } description ? description : null);
    }

    static bool IsUsableUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.Scheme is "https" or "http" or "file"
            : url.IndexOfAny(Path.GetInvalidPathChars()) < 0;

    /// <summary>Text for people: one line per entry (name, architecture, top-1, size, cached or not).</summary>
    public string Describe(Func<PretrainedWeights, bool> isCached) =>
        string.Join(Environment.NewLine, All.Select(e => string.Create(CultureInfo.InvariantCulture,
            $"{e.Name,-34} {e.Architecture,-8} {(e.Top1Accuracy is { } top1 ? $"top-1 {top1:0.0}%" : ""),-13} {(e.Megabytes is { } mb ? $"{mb:0} MB" : ""),-7} {(e.IsDefault ? "default" : ""),-8} {(isCached(e) ? "cached" : "")}")));
}

using System.CommandLine;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet weights list</c>: the known pretrained weights (name, variant, top-1, size, default, cached), and
/// <c>efficientnet weights download NAME...</c>: fetch them into the cache, e.g. on a connected machine before copying
/// the cache folder to one without internet.
/// </summary>
internal static class WeightsCommand
{
    public static Command Create(TextWriter output)
    {
        var list = new Command("list", "List the pretrained weights the registry knows, and which are in the cache");
        list.SetAction(_ =>
        {
            var registry = WeightsRegistry.Current;
            output.WriteLine(registry.Describe(WeightsCache.IsCached));
            output.WriteLine($"Cache folder: {WeightsCache.Folder} (set {CacheFolder.Variable} to move it; {WeightsRegistry.ManifestVariable} adds entries)");
            return 0;
        });
        var names = new Argument<string[]>("names") { Description = "Registry names, e.g. efficientnet_b0.IMAGENET1K_V1", Arity = ArgumentArity.OneOrMore };
        var download = new Command("download", "Fetch pretrained weights into the cache (checked against their SHA-256)") { names };
        download.SetAction(parse =>
        {
            var registry = WeightsRegistry.Current;
            var entries = parse.GetValue(names)!.Select(name => registry.Get(name)).ToList();
            foreach (var entry in entries)
            {
                var path = WeightsCache.IsCached(entry) ? WeightsCache.PathOf(entry) : WeightsCache.Get(entry, WeightsDownloadDisplay.Lines(output));
                output.WriteLine($"{entry.Name}: {path}");
            }
            return 0;
        });
        return new Command("weights", "Pretrained weights: list them, or download them into the cache") { list, download };
    }
}

using System.Xml.Linq;

namespace EfficientNet.MLNet.Tests.Build;

/// <summary>The repository's build configuration leaves the machine's own choices alone.</summary>
public class RepositoryConfigurationTests
{
    static string Root => Path.GetFullPath(FixturePaths.Metadata("RepositoryRoot"));

    [Fact]
    public void No_nuget_config_clears_the_machines_sources_or_names_a_remote_one()
    {
        var configs = Directory.EnumerateFiles(Root, "*.config", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(path).Equals("nuget.config", StringComparison.OrdinalIgnoreCase))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "artifacts" or ".git"))
            .ToList();

        Assert.NotEmpty(configs);
        foreach (var config in configs)
        {
            var sources = XDocument.Load(config).Descendants("packageSources").Elements().ToList();
            Assert.DoesNotContain(sources, source => source.Name.LocalName == "clear");
            Assert.DoesNotContain(sources, source => (source.Attribute("value")?.Value ?? "").Contains("://", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Scripts_that_write_a_nuget_config_add_a_local_feed_only()
    {
        foreach (var script in new[] { ".ci/package-smoke-test", ".ci/version-compatibility-test" })
        {
            var text = File.ReadAllText(Path.Combine(Root, script));
            Assert.Contains("<add key=\"local\" value=\"$work/feed\" />", text);
            Assert.DoesNotContain("<clear", text);
            Assert.DoesNotContain("https://", text);
        }
    }
}

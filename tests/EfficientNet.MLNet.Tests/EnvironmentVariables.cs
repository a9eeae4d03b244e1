namespace EfficientNet.MLNet.Tests;

/// <summary>Tests that set process environment variables (the cache folder, the extra manifest) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "Environment variables (sequential)";
}

/// <summary>Sets environment variables for a test and puts the previous values back.</summary>
internal sealed class EnvironmentVariables : IDisposable
{
    private readonly Dictionary<string, string?> previous = new();

    public EnvironmentVariables Set(string name, string? value)
    {
        if (!previous.ContainsKey(name))
            previous[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    public void Dispose()
    {
        foreach (var (name, value) in previous)
            Environment.SetEnvironmentVariable(name, value);
    }
}

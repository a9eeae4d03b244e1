namespace EfficientNet.MLNet.Network;

/// <summary>
/// Marks the scoring that <see cref="EfficientNetModel"/> runs itself (<c>Infer</c>) on the current thread: only
/// then do its layers use their folded batch norms. Anything else (a user's own forward, a summary, training) runs
/// the layers as they are, so the fold cannot be seen from outside.
/// </summary>
internal static class FoldedInference
{
    [ThreadStatic] private static bool active;

    /// <summary>Whether the current thread is inside the model's own scoring.</summary>
    public static bool Active => active;

    /// <summary>Marks the current thread until the returned scope is disposed.</summary>
    public static Scope Enter() => new();

    /// <summary>The marked span of one thread.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool previous;

        public Scope()
        {
            previous = active;
            active = true;
        }

        public void Dispose() => active = previous;
    }
}

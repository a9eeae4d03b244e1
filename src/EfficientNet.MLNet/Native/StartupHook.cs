using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using EfficientNet.MLNet.Native;

/// <summary>
/// .NET's startup hook (it must be named so, in the global namespace). It acts only in a CPU kernel check's child
/// process (<see cref="KernelCheckChild"/>), which sets <see cref="KernelCheckChild.ChildVariable"/>: there it runs the
/// check and ends the process before the application's Main. Anywhere else it returns at once.
/// </summary>
internal static class StartupHook
{
    /// <summary>Called by the runtime before Main when this assembly is named in DOTNET_STARTUP_HOOKS.</summary>
    public static void Initialize()
    {
        var configuration = Environment.GetEnvironmentVariable(KernelCheckChild.ChildVariable);
        if (string.IsNullOrEmpty(configuration))
            return;
        var folders = (Environment.GetEnvironmentVariable(KernelCheckChild.AssemblyFoldersVariable) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            folders.Select(f => Path.Combine(f, name.Name + ".dll")).Where(File.Exists).Select(context.LoadFromAssemblyPath).FirstOrDefault();
        Run(configuration);
    }

    // Apart, so that TorchSharp's types are resolved only after the resolver above is in place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Run(string configuration) => KernelCheckChild.RunInChild(configuration);
}

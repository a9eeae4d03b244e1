using System.Runtime.InteropServices;

namespace EfficientNet.MLNet.Native;

/// <summary>
/// Sets an environment variable where native libraries read it. On Linux and macOS .NET keeps its own copy of the
/// environment, so <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach libc's
/// <c>getenv</c> (which oneDNN, ATen and MKL call); libc's <c>setenv</c> does. Both are set, so that child processes
/// (which .NET starts from its copy) inherit the value too.
/// </summary>
internal static class NativeEnvironment
{
    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, SetLastError = true)]
    static extern int SetInLibc(string name, string value, int overwrite);

    /// <summary>Sets <paramref name="name"/> to <paramref name="value"/> for .NET and for native code.</summary>
    public static void Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (!OperatingSystem.IsWindows() && SetInLibc(name, value, 1) != 0)
            throw new InvalidOperationException($"setenv({name}) failed with error {Marshal.GetLastPInvokeError()}.");
    }
}

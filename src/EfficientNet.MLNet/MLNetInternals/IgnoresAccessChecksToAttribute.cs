// The one place that reaches into ML.NET internals (model persistence). See EfficientNet.MLNet.csproj.
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]

namespace System.Runtime.CompilerServices;

/// <summary>
/// Read by the .NET runtime (not defined by the BCL, so each assembly declares its own): lets this assembly use
/// the named assembly's internal members that it was compiled against.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute : Attribute
{
    /// <summary>Declares the assembly whose access checks are ignored.</summary>
    public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

    /// <summary>The assembly's simple name.</summary>
    public string AssemblyName { get; }
}

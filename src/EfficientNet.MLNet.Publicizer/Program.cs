// Writes compile-time-only copies of assemblies in which the listed types, and all their members, are public.
//
//   EfficientNet.MLNet.Publicizer <output folder> <input.dll>... --types <Namespace.Type> [<Namespace.Type+Nested> ...]
//
// EfficientNet.MLNet compiles against the copy of Microsoft.ML.Core.dll so that it can implement ML.NET's model
// persistence (LoadableClass, ModelLoadContext, ...), which ML.NET keeps internal; at run time the real, signed
// assembly is used, and [IgnoresAccessChecksTo] lets the runtime allow the access. Only the listed types are
// touched, and a listed type that is missing fails the build with its name: that is how a future ML.NET that
// moved one is caught.
using Mono.Cecil;

var split = Array.IndexOf(args, "--types");
if (split < 2 || split == args.Length - 1)
{
    Console.Error.WriteLine("usage: EfficientNet.MLNet.Publicizer <output folder> <input.dll>... --types <type> [<type> ...]");
    return 2;
}
var (outputFolder, inputs, typeNames) = (args[0], args[1..split], args[(split + 1)..]);
Directory.CreateDirectory(outputFolder);

var resolver = new DefaultAssemblyResolver();
foreach (var folder in inputs.Select(i => Path.GetDirectoryName(Path.GetFullPath(i))!).Distinct())
    resolver.AddSearchDirectory(folder);
var assemblies = inputs.Select(input => AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver })).ToList();
var types = assemblies.SelectMany(a => a.MainModule.GetTypes()).Where(t => t.Name != "<Module>")
    .GroupBy(t => t.FullName.Replace('/', '+')).ToDictionary(g => g.Key, g => g.First());

var missing = typeNames.Where(name => !types.ContainsKey(name)).ToList();
if (missing.Count > 0)
{
    Console.Error.WriteLine($"error: no type {string.Join(", ", missing)} in {string.Join(", ", inputs.Select(Path.GetFileName))}; this ML.NET version is not supported by EfficientNet.MLNet (it needs 5.x).");
    return 1;
}

foreach (var type in typeNames.Select(name => types[name]))
{
    for (var t = type; t is not null; t = t.DeclaringType)
        t.Attributes = (t.Attributes & ~TypeAttributes.VisibilityMask) | (t.IsNested ? TypeAttributes.NestedPublic : TypeAttributes.Public);
    foreach (var method in type.Methods.Where(m => !m.Name.StartsWith('<')))
        method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
    var eventNames = type.Events.Select(e => e.Name).ToHashSet();
    foreach (var field in type.Fields.Where(f => !f.Name.StartsWith('<') && !eventNames.Contains(f.Name)))
        field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
}

foreach (var (assembly, input) in assemblies.Zip(inputs))
{
    var output = Path.Combine(outputFolder, Path.GetFileName(input));
    assembly.Write(output);
    assembly.Dispose();
    Console.WriteLine($"EfficientNet.MLNet.Publicizer: {input} -> {output}");
}
return 0;

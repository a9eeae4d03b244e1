// Compiled at build time by MSBuild's RoslynCodeTaskFactory (see EfficientNet.MLNet.targets), and into the library
// (with EFFICIENTNET_LIBRARY defined, without the MSBuild task) for TorchSharpSetup, which does the same at run time
// where no build runs (notebooks).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so was linked with GCC 13 and records a need for GLIBCXX_3.4.32,
// which Debian 12 and Ubuntu 22.04 do not have (their libstdc++ stops at 3.4.30), so the loader refuses it.
// The only symbol bound to that version is _ZSt21ios_base_library_initv, a marker that GCC 13's <iostream>
// emits and that nothing calls. Marking the requirement weak (VER_FLG_WEAK) lets the loader accept the
// library while every real symbol keeps its version check. The patch is made on the copy in the build
// output, never on the package cache, and only where the system's libstdc++ lacks the version.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
#if !EFFICIENTNET_LIBRARY
using Microsoft.Build.Framework;
#endif

namespace EfficientNet.MLNet.Build
{
#if !EFFICIENTNET_LIBRARY
    /// <summary>MSBuild task: makes every libLibTorchSharp.so under a folder loadable on the build machine's libstdc++.</summary>
    public sealed class FixLibTorchSharpForSystemLibstdcxx : Microsoft.Build.Utilities.Task
    {
        /// <summary>The folder to search (recursively) for libLibTorchSharp.so, e.g. $(OutDir) or $(PublishDir).</summary>
        [Required]
        public string Directory { get; set; } = "";

        /// <summary>The libstdc++ to check against; empty means the first one found in the usual system folders.</summary>
        public string SystemLibstdcxx { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !System.IO.Directory.Exists(Directory))
                return true;
            var libraries = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
            if (libraries.Length == 0)
                return true;

            var libstdcxx = SystemLibstdcxx.Length > 0 ? SystemLibstdcxx : GlibcxxRequirementWeakener.FindSystemLibstdcxx();
            if (libstdcxx is null || !File.Exists(libstdcxx))
            {
                Log.LogMessage(MessageImportance.Normal, "EfficientNet.MLNet: no system libstdc++.so.6 found; libLibTorchSharp.so left as it is.");
                return true;
            }
            var systemLibrary = File.ReadAllBytes(libstdcxx);

            foreach (var library in libraries)
            {
                var outcome = GlibcxxRequirementWeakener.PatchFile(library, version => GlibcxxRequirementWeakener.DefinesVersion(systemLibrary, version));
                foreach (var version in outcome.Weakened)
                    Log.LogMessage(MessageImportance.Normal,
                        $"EfficientNet.MLNet: {libstdcxx} lacks {version}; marked that requirement weak in {library} (only the unused iostream marker symbol needs it).");
                foreach (var (version, symbols) in outcome.Unfixable)
                    Log.LogWarning(
                        $"EfficientNet.MLNet: {library} needs {version}, which {libstdcxx} lacks, for real symbols ({string.Join(", ", symbols.Take(3))}); " +
                        "TorchSharp will not load on this system. Install a newer libstdc++ (GCC 13 or later runtime).");
            }
            return true;
        }
    }

#endif

    /// <summary>What <see cref="GlibcxxRequirementWeakener.Patch"/> did to one ELF file.</summary>
    internal sealed class WeakeningOutcome
    {
        /// <summary>The missing versions whose requirement was marked weak.</summary>
        public List<string> Weakened { get; } = new List<string>();

        /// <summary>Missing versions that real symbols need: weakening them would only move the failure to run time.</summary>
        public List<(string Version, List<string> Symbols)> Unfixable { get; } = new List<(string, List<string>)>();
    }

    /// <summary>Reads an ELF64 little-endian shared library's version needs and weakens the harmless missing ones.</summary>
    internal static class GlibcxxRequirementWeakener
    {
        /// <summary>The symbol GCC 13's &lt;iostream&gt; emits as a marker; nothing calls it.</summary>
        public const string IostreamMarkerSymbol = "_ZSt21ios_base_library_initv";

        const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        const ushort VerFlagWeak = 0x2;

        static readonly string[] SystemFolders =
        {
            "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        };

        /// <summary>The first libstdc++.so.6 in the usual system folders, or null.</summary>
        public static string? FindSystemLibstdcxx() =>
            SystemFolders.Select(folder => Path.Combine(folder, "libstdc++.so.6")).FirstOrDefault(File.Exists);

        /// <summary>Whether a library's bytes hold the version name as a NUL-terminated string (as its version definitions do).</summary>
        public static bool DefinesVersion(byte[] library, string version) =>
            IndexOf(library, Encoding.ASCII.GetBytes(version + "\0")) >= 0;

        /// <summary>Patches a file in place through a temporary copy, so a hard link into the package cache is never written through.</summary>
        public static WeakeningOutcome PatchFile(string path, Func<string, bool> systemHasVersion)
        {
            var bytes = File.ReadAllBytes(path);
            var outcome = Patch(bytes, systemHasVersion);
            if (outcome.Weakened.Count > 0)
            {
                var temporary = path + ".patching";
                File.WriteAllBytes(temporary, bytes);
                File.Replace(temporary, path, null);
            }
            return outcome;
        }

        /// <summary>Marks weak every libstdc++ version need that the system lacks and only the marker symbol uses.</summary>
        public static WeakeningOutcome Patch(byte[] elf, Func<string, bool> systemHasVersion)
        {
            var outcome = new WeakeningOutcome();
            foreach (var need in ReadVersionNeeds(elf))
            {
                if (!need.Library.StartsWith("libstdc++", StringComparison.Ordinal) || (need.Flags & VerFlagWeak) != 0 || systemHasVersion(need.Version))
                    continue;
                var symbols = SymbolsBoundTo(elf, need.Index);
                if (symbols.All(symbol => symbol == IostreamMarkerSymbol))
                {
                    var flags = (ushort)(need.Flags | VerFlagWeak);
                    elf[need.FlagsOffset] = (byte)flags;
                    elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                    outcome.Weakened.Add(need.Version);
                }
                else
                {
                    outcome.Unfixable.Add((need.Version, symbols));
                }
            }
            return outcome;
        }

        /// <summary>One Vernaux entry: a version of a needed library, where its flags live, and its version index.</summary>
        public sealed class VersionNeed
        {
            /// <summary>The needed library's file name, e.g. libstdc++.so.6.</summary>
            public string Library { get; set; } = "";
            /// <summary>The version name, e.g. GLIBCXX_3.4.32.</summary>
            public string Version { get; set; } = "";
            /// <summary>vna_flags (VER_FLG_WEAK is 0x2).</summary>
            public ushort Flags { get; set; }
            /// <summary>vna_other: the index that .gnu.version uses for this version.</summary>
            public ushort Index { get; set; }
            /// <summary>The file offset of vna_flags.</summary>
            public int FlagsOffset { get; set; }
        }

        /// <summary>All version needs recorded in the SHT_GNU_verneed section.</summary>
        public static List<VersionNeed> ReadVersionNeeds(byte[] elf)
        {
            var needs = new List<VersionNeed>();
            var sections = ReadSections(elf);
            foreach (var section in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                var strings = sections[(int)section.Link];
                long entry = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    var count = U16(elf, entry + 2);
                    var file = ReadString(elf, strings, U32(elf, entry + 4));
                    long aux = entry + U32(elf, entry + 8);
                    for (int j = 0; j < count; j++)
                    {
                        needs.Add(new VersionNeed
                        {
                            Library = file,
                            Flags = U16(elf, aux + 4),
                            Index = U16(elf, aux + 6),
                            Version = ReadString(elf, strings, U32(elf, aux + 8)),
                            FlagsOffset = checked((int)(aux + 4)),
                        });
                        aux += U32(elf, aux + 12);
                    }
                    entry += U32(elf, entry + 12);
                }
            }
            return needs;
        }

        /// <summary>The names of the dynamic symbols whose .gnu.version entry is the given version index.</summary>
        public static List<string> SymbolsBoundTo(byte[] elf, ushort versionIndex)
        {
            var sections = ReadSections(elf);
            var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            var names = new List<string>();
            if (dynsym is null || versym is null)
                return names;
            var strings = sections[(int)dynsym.Link];
            long count = Math.Min(dynsym.Size / 24, versym.Size / 2);
            for (long i = 0; i < count; i++)
            {
                if ((U16(elf, versym.Offset + 2 * i) & 0x7fff) == versionIndex)
                    names.Add(ReadString(elf, strings, U32(elf, dynsym.Offset + 24 * i)));
            }
            return names;
        }

        sealed class Section
        {
            public uint Type;
            public long Offset, Size;
            public uint Link, Info;
        }

        static List<Section> ReadSections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("not a 64-bit little-endian ELF file");
            long tableOffset = checked((long)U64(elf, 0x28));
            int entrySize = U16(elf, 0x3a), count = U16(elf, 0x3c);
            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long header = tableOffset + (long)i * entrySize;
                var section = new Section
                {
                    Type = U32(elf, header + 4),
                    Offset = checked((long)U64(elf, header + 0x18)),
                    Size = checked((long)U64(elf, header + 0x20)),
                    Link = U32(elf, header + 0x28),
                    Info = U32(elf, header + 0x2c),
                };
                if (section.Type != 8 /* SHT_NOBITS */ && section.Offset + section.Size > elf.Length)
                    throw new InvalidDataException($"section {i} lies outside the file");
                sections.Add(section);
            }
            foreach (var section in sections)
                if (section.Link >= sections.Count && (section.Type == ShtDynsym || section.Type == ShtGnuVerneed))
                    throw new InvalidDataException("a section links to a string table that does not exist");
            return sections;
        }

        static string ReadString(byte[] elf, Section table, uint offset)
        {
            long start = table.Offset + offset;
            long end = start;
            while (end < table.Offset + table.Size && elf[end] != 0)
                end++;
            return Encoding.ASCII.GetString(elf, checked((int)start), checked((int)(end - start)));
        }

        // netstandard2.0 (what RoslynCodeTaskFactory compiles against) has no spans or BinaryPrimitives.
        static ushort U16(byte[] elf, long offset) => (ushort)ReadLittleEndian(elf, offset, 2);
        static uint U32(byte[] elf, long offset) => (uint)ReadLittleEndian(elf, offset, 4);
        static ulong U64(byte[] elf, long offset) => ReadLittleEndian(elf, offset, 8);

        static ulong ReadLittleEndian(byte[] elf, long offset, int length)
        {
            if (offset < 0 || offset + length > elf.Length)
                throw new InvalidDataException($"offset {offset} lies outside the file");
            ulong value = 0;
            for (int i = length - 1; i >= 0; i--)
                value = (value << 8) | elf[offset + i];
            return value;
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j])
                    j++;
                if (j == needle.Length)
                    return i;
            }
            return -1;
        }
    }
}

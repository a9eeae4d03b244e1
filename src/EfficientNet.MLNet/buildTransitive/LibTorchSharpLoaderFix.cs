// Compiled at build time by MSBuild's RoslynCodeTaskFactory (see EfficientNet.MLNet.targets), and into the library
// (with EFFICIENTNET_LIBRARY defined, without the MSBuild task) for TorchSharpSetup, which does the same at run time
// where no build runs (notebooks).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so was linked with GCC 13 and records a need for GLIBCXX_3.4.32,
// which Debian 12 and Ubuntu 22.04 do not have (their libstdc++ stops at 3.4.30), so the loader refuses it.
// The only symbol bound to that version is _ZSt21ios_base_library_initv, a marker that GCC 13's <iostream>
// emits and that nothing calls. Marking the requirement weak (VER_FLG_WEAK) lets the loader accept the
// library while every real symbol keeps its version check; where the version exists the flag changes nothing. The
// patch is made on the copy in the build output (or a private copy at run time), never on the package cache.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
#if !EFFICIENTNET_LIBRARY
using Microsoft.Build.Framework;
#endif

namespace EfficientNet.MLNet.Build
{
#if !EFFICIENTNET_LIBRARY
    /// <summary>
    /// MSBuild task: makes every libLibTorchSharp.so under a folder loadable on Linux systems whose libstdc++ predates
    /// GCC 13. It decides nothing from the build machine (the output may run elsewhere: a Debian 12 container built on
    /// a newer SDK image, a linux-x64 publish from Windows): the weak flag it sets is harmless where the version exists.
    /// It never fails a build: any problem becomes a warning.
    /// </summary>
    public sealed class FixLibTorchSharpForSystemLibstdcxx : Microsoft.Build.Utilities.Task
    {
        /// <summary>The folder to search (recursively) for libLibTorchSharp.so, e.g. $(OutDir) or $(PublishDir).</summary>
        [Required]
        public string Directory { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            try
            {
                if (!System.IO.Directory.Exists(Directory))
                    return true;
                foreach (var library in System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories))
                {
                    var weakened = GlibcxxRequirementWeakener.PatchFile(library);
                    foreach (var version in weakened)
                        Log.LogMessage(MessageImportance.Normal,
                            $"EfficientNet.MLNet: marked the {version} requirement weak in {library}: only the unused iostream marker symbol needs it, so systems whose libstdc++ lacks it (Debian 12, Ubuntu 22.04) can load the library.");
                }
            }
            catch (Exception e)
            {
                Log.LogWarning($"EfficientNet.MLNet: libLibTorchSharp.so in {Directory} was left as it is ({e.GetType().Name}: {e.Message}). " +
                               "TorchSharp may not load on systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04); elsewhere nothing changes.");
            }
            return true;
        }
    }

#endif

    /// <summary>Reads an ELF64 little-endian shared library's version needs and weakens the harmless missing ones.</summary>
    internal static class GlibcxxRequirementWeakener
    {
        /// <summary>The symbol GCC 13's &lt;iostream&gt; emits as a marker; nothing calls it.</summary>
        public const string IostreamMarkerSymbol = "_ZSt21ios_base_library_initv";

        const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        const ushort VerFlagWeak = 0x2;

        /// <summary>Patches a file in place through a temporary copy, so a hard link into the package cache is never written through.</summary>
        public static List<string> PatchFile(string path)
        {
            var bytes = File.ReadAllBytes(path);
            var weakened = Patch(bytes);
            if (weakened.Count > 0)
            {
                var temporary = path + ".patching";
                File.WriteAllBytes(temporary, bytes);
                File.Replace(temporary, path, null);
            }
            return weakened;
        }

        /// <summary>
        /// Marks weak every libstdc++ version need that only the iostream marker symbol uses (whatever libstdc++ the
        /// machine running this has: the flag only matters where the version is missing); returns those versions.
        /// Needs of real symbols are left as they are.
        /// </summary>
        public static List<string> Patch(byte[] elf)
        {
            var weakened = new List<string>();
            foreach (var need in ReadVersionNeeds(elf))
            {
                if (!need.Library.StartsWith("libstdc++", StringComparison.Ordinal) || (need.Flags & VerFlagWeak) != 0)
                    continue;
                var symbols = SymbolsBoundTo(elf, need.Index);
                if (symbols.Count == 0 || symbols.Any(symbol => symbol != IostreamMarkerSymbol))
                    continue;
                var flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)flags;
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                weakened.Add(need.Version);
            }
            return weakened;
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
    }
}

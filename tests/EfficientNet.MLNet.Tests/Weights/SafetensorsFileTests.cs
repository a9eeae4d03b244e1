using System.Text;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Weights;

public class SafetensorsFileTests
{
    [Fact]
    public void Written_tensors_read_back_identical_with_dtype_shape_and_metadata()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var scope = NewDisposeScope();
        var floats = randn(3, 4, 5);
        var longs = tensor(new long[] { 7, -1, 1L << 40 });
        var scalar = tensor(42L);
        var empty = zeros(0, 3);
        var path = folder.File("round-trip.safetensors");

        SafetensorsWriter.Write(path, new[] { ("floats", floats), ("longs", longs), ("scalar", scalar), ("empty", empty) },
            new Dictionary<string, string> { ["format"] = "pt" });
        var file = SafetensorsFile.Open(path);

        Assert.Equal(new[] { "floats", "longs", "scalar", "empty" }, file.Entries.Select(e => e.Name));
        Assert.Equal("pt", file.Metadata["format"]);
        TensorAssert.Identical(floats, file.ReadTensor("floats"));
        TensorAssert.Identical(longs, file.ReadTensor("longs"));
        TensorAssert.Identical(scalar, file.ReadTensor("scalar"));
        TensorAssert.Identical(empty, file.ReadTensor("empty"));
        Assert.Equal(0, (new FileInfo(path).Length - 8 - file.Entries.Sum(e => e.Length)) % 8);
        Assert.Single(Directory.GetFiles(folder.Path)); // no temporary file left behind
    }

    [Fact]
    public void F16_and_BF16_are_read_as_F32_exactly_as_torch_converts_them()
    {
        var file = SafetensorsFile.Open(FixturePaths.Of("dtypes.safetensors"));
        using var scope = NewDisposeScope();

        var f16 = file.ReadTensor("f16");
        var bf16 = file.ReadTensor("bf16");

        Assert.Equal(("F16", "BF16"), (file.Entries.Single(e => e.Name == "f16").DType, file.Entries.Single(e => e.Name == "bf16").DType));
        TensorAssert.Identical(file.ReadTensor("f16_as_f32"), f16);
        TensorAssert.Identical(file.ReadTensor("bf16_as_f32"), bf16);
        Assert.Equal(3.140625f, bf16[3].item<float>()); // torch's bfloat16(3.14159)
        Assert.Equal(new long[] { 1, -2, 3, 1L << 40 }, file.ReadTensor("i64").flatten().data<long>().ToArray());
    }

    [Fact]
    public void Missing_file_is_a_clear_error()
    {
        var error = Assert.Throws<WeightsFormatException>(() => SafetensorsFile.Open("/nonexistent/weights.safetensors"));

        Assert.Equal("/nonexistent/weights.safetensors", error.FilePath);
        Assert.Contains("does not exist", error.Message);
    }

    public static TheoryData<string, string, string> MalformedFiles => new()
    {
        { "header length past the end", Header(ulong.MaxValue, ""), "header length 18446744073709551615 does not fit" },
        { "header length larger than the file", Header(1000, "{}"), "header length 1000 does not fit" },
        { "shorter than the length field", "\u0001\u0002\u0003", "fewer than the 8" },
        { "header not JSON", Json("not json"), "not valid JSON" },
        { "header a JSON array", Json("[1,2]"), "not a JSON object" },
        { "unknown dtype", Json("""{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}""", 1), "dtype 'Q4'" },
        { "offsets outside the data", Json("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4), "outside the 4 bytes" },
        { "end before begin", Json("""{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}""", 4), "outside" },
        { "size not matching the shape", Json("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "needs 12 bytes" },
        { "huge shape", Json("""{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8), "more than the file's" },
        { "negative dimension", Json("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "non-negative integers" },
        { "overlapping tensors", Json("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "overlaps" },
        { "duplicate names", Json("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "appears twice" },
        { "missing data_offsets", Json("""{"w":{"dtype":"F32","shape":[1]}}""", 4), "data_offsets" },
        { "metadata not strings", Json("""{"__metadata__":{"epoch":3}}"""), "not a string" },
        { "header not UTF-8 (found by the fuzz test)", Header(7, "{\"\u00F1\":1}"), "not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void Malformed_file_is_a_WeightsFormatException_that_names_the_file_and_the_problem(string @case, string content, string expected)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var path = folder.File($"{@case.Replace(' ', '-')}.safetensors");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(content));

        var error = Assert.Throws<WeightsFormatException>(() => SafetensorsFile.Open(path));

        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Truncated_file_is_rejected_when_opened()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var bytes = File.ReadAllBytes(FixturePaths.Of("reduced.safetensors"));
        var path = folder.File("truncated.safetensors");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        var error = Assert.Throws<WeightsFormatException>(() => SafetensorsFile.Open(path));

        Assert.Contains("outside the", error.Message);
    }

    /// <summary>8-byte little-endian length (as Latin-1 characters), then the header text.</summary>
    static string Header(ulong length, string header) =>
        Encoding.Latin1.GetString(BitConverter.GetBytes(length)) + header;

    static string Json(string header, int dataBytes = 0) =>
        Header((ulong)Encoding.UTF8.GetByteCount(header), header) + new string('\0', dataBytes);
}

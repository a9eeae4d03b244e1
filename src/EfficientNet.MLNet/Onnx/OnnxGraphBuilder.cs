using EfficientNet.MLNet.Onnx.Ir;
using Google.Protobuf;

namespace EfficientNet.MLNet.Onnx;

/// <summary>Accumulates the nodes and initializers of an ONNX graph, naming every intermediate value uniquely.</summary>
/// <param name="name">The graph's name.</param>
/// <param name="weightPrecision">How <see cref="Weight"/> stores its values.</param>
internal sealed class OnnxGraphBuilder(string name, OnnxWeightPrecision weightPrecision = OnnxWeightPrecision.Float32)
{
    private readonly GraphProto graph = new() { Name = name };
    private int counter;

    public GraphProto Graph => graph;

    /// <summary>A float32 constant of the given shape, little-endian raw data.</summary>
    public string Constant(string name, float[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return Initializer(name, TensorProto.Types.DataType.Float, bytes, dims);
    }

    /// <summary>
    /// A weight: a float32 constant, or with <see cref="OnnxWeightPrecision.Float16"/> a float16 constant (rounded to
    /// nearest) cast to float32 by a node (ONNX Runtime folds the cast when it loads the model). Returns the float32 value's name.
    /// </summary>
    public string Weight(string name, float[] values, params long[] dims)
    {
        if (weightPrecision == OnnxWeightPrecision.Float32)
            return Constant(name, values, dims);
        var bytes = new byte[values.Length * sizeof(ushort)];
        for (var i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), BitConverter.HalfToUInt16Bits((Half)values[i]));
        var half = Initializer($"{name}.float16", TensorProto.Types.DataType.Float16, bytes, dims);
        return Node("Cast", new[] { half }, name, Int("to", (int)TensorProto.Types.DataType.Float));
    }

    string Initializer(string name, TensorProto.Types.DataType type, byte[] littleEndian, long[] dims)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(littleEndian) };
        tensor.Dims.AddRange(dims);
        graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node; returns the name of its (single) output.</summary>
    public string Node(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, $"{opType.ToLowerInvariant()}_{counter++}", attributes);

    /// <summary>Adds a node whose output has a given name (a graph output).</summary>
    public string Node(string opType, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float tensor input or output; a dimension is a number or, for a symbolic one, a name.</summary>
    public static ValueInfoProto FloatTensor(string name, params object[] dims) => Tensor(name, TensorProto.Types.DataType.Float, dims);

    /// <summary>A tensor input or output of the given element type; a dimension is a number or, for a symbolic one, a name.</summary>
    public static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}

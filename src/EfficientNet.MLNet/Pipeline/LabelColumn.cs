using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>The label column: a key type with at least two classes, whose key values name the classes.</summary>
internal static class LabelColumn
{
    /// <summary>Finds the column and reads its class names (the key values, or "0".."n-1" without them).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Missing, not a key, or fewer than two classes.</exception>
    public static (DataViewSchema.Column Column, string[] ClassNames) Find(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"The label column '{name}' is not in the data (columns: {string.Join(", ", schema.Select(c => c.Name))}). Set LabelColumnName, or name the column '{name}'.");
        if (column.Type is not KeyDataViewType key || key.RawType != typeof(uint))
            throw new ArgumentOutOfRangeException(nameof(name), $"The label column '{name}' has type {column.Type}; expected a key type. Add mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") before the trainer{(column.Type is TextDataViewType or VectorDataViewType ? ", or train a multi-label model (EfficientNetMultiLabel) if a row holds several labels" : "")}.");
        if (key.Count < 2)
            throw new ArgumentOutOfRangeException(nameof(name), $"The label column '{name}' has {key.Count} class(es); a classifier needs at least 2.");
        return (column, KeyNames(column, (int)key.Count));
    }

    /// <summary>The names of a key column's (or key vector's) <paramref name="count"/> keys: its key values, or "0".."n-1" without them.</summary>
    public static string[] KeyNames(DataViewSchema.Column column, int count) => AnnotatedNames(column, AnnotationKinds.KeyValues, count);

    /// <summary>
    /// <paramref name="count"/> names from a column's text-vector annotation <paramref name="kind"/> (KeyValues, SlotNames), or
    /// "0".."n-1" without it.
    /// </summary>
    public static string[] AnnotatedNames(DataViewSchema.Column column, string kind, int count)
    {
        var names = Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (column.Annotations.Schema.GetColumnOrNull(kind) is { Type: VectorDataViewType { ItemType: TextDataViewType } })
        {
            var values = default(VBuffer<ReadOnlyMemory<char>>);
            column.Annotations.GetValue(kind, ref values);
            var i = 0;
            foreach (var value in values.DenseValues())
                if (i < names.Length) names[i++] = value.ToString();
        }
        return names;
    }
}

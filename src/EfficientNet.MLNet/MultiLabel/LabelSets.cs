using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// The label column of multi-label data: per row, which labels it has. Labels come as users have them: text with the
/// labels separated ("dog;person", spaces around a label ignored, "" for none), a vector of text (one label an element),
/// or a vector of keys (MapValueToKey on such a vector; key 0, missing, is no label). The label names are the text's
/// distinct labels in ordinal order, or the keys' values in key order; data scored or validated later is read against
/// the training data's names, and a label they do not know is refused with its row.
/// </summary>
internal sealed class LabelSets
{
    /// <summary>The separator of labels in a text column, unless one is given.</summary>
    public const char DefaultSeparator = ';';

    private LabelSets(IReadOnlyList<string> names, IReadOnlyList<bool[]> rows)
    {
        Names = names;
        Rows = rows;
        Counts = Enumerable.Range(0, names.Count).Select(label => rows.Count(row => row[label])).ToArray();
    }

    /// <summary>The labels' names, in the order of every row's flags.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Per row, whether it has each label.</summary>
    public IReadOnlyList<bool[]> Rows { get; }

    /// <summary>Per label, the rows that have it.</summary>
    public IReadOnlyList<int> Counts { get; }

    /// <summary>Reads <paramref name="column"/> of <paramref name="data"/>.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="column">The label column's name.</param>
    /// <param name="names">The training data's label names, when these are other data (validation, scoring); null to find them here.</param>
    /// <param name="separator">What separates the labels in a text column.</param>
    /// <param name="dataName">How errors name the data, e.g. "the validation data".</param>
    /// <exception cref="ArgumentOutOfRangeException">No such column, a type that holds no labels, or fewer than two labels in all.</exception>
    /// <exception cref="DataRowException">A row holds a label <paramref name="names"/> does not know.</exception>
    public static LabelSets Read(IDataView data, string column, IReadOnlyList<string>? names = null, char separator = DefaultSeparator, string dataName = "the data")
    {
        var found = Find(data.Schema, column, separator, dataName);
        var perRow = new List<string[]>();
        using (var cursor = data.GetRowCursor(new[] { found }))
        {
            var labels = Getter(cursor, found, separator);
            while (cursor.MoveNext())
                perRow.Add(labels());
        }
        names ??= KeyNames(found) ?? perRow.SelectMany(labels => labels).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (names.Count < 2)
            throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' of {dataName} holds {names.Count} distinct label(s) ({string.Join(", ", names)}); a multi-label classifier needs at least 2.");
        var index = Indices(names);
        var rows = new List<bool[]>(perRow.Count);
        for (var row = 0; row < perRow.Count; row++)
        {
            var flags = new bool[names.Count];
            foreach (var label in perRow[row])
                flags[Index(index, label, row, column, dataName)] = true;
            rows.Add(flags);
        }
        return new LabelSets(names, rows);
    }

    /// <summary>The label column, if its type holds labels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or a type that holds no labels.</exception>
    public static DataViewSchema.Column Find(DataViewSchema schema, string column, char separator, string dataName)
    {
        var found = schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' is not in {dataName} (columns: {string.Join(", ", schema.Select(c => c.Name))}). Set LabelColumnName, or name the column '{column}'.");
        if (!HoldsLabels(found.Type))
            throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' has type {found.Type}; expected text with the labels separated by '{separator}' (\"dog{separator}person\"), a vector of text, or a vector of keys (MapValueToKey on a vector of text).");
        return found;
    }

    /// <summary>Whether a column of <paramref name="type"/> can hold several labels a row.</summary>
    public static bool HoldsLabels(DataViewType type) => type is TextDataViewType or VectorDataViewType { ItemType: TextDataViewType }
        || type is VectorDataViewType { ItemType: KeyDataViewType key } && key.RawType == typeof(uint);

    /// <summary>The names of a key vector's keys in key order; null for a text column.</summary>
    public static string[]? KeyNames(DataViewSchema.Column column) =>
        column.Type is VectorDataViewType { ItemType: KeyDataViewType key } ? Pipeline.LabelColumn.KeyNames(column, (int)key.Count) : null;

    /// <summary>Label names to their index.</summary>
    public static Dictionary<string, int> Indices(IReadOnlyList<string> names) =>
        names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);

    /// <summary>The index of <paramref name="label"/> among the training names, or a <see cref="DataRowException"/> naming the row.</summary>
    public static int Index(Dictionary<string, int> indices, string label, long row, string column, string dataName) =>
        indices.TryGetValue(label, out var i) ? i : throw new DataRowException(row, column,
            $"the label '{label}' is not one of the {indices.Count} the model was trained on ({string.Join(", ", indices.Keys.Take(20))}{(indices.Count > 20 ? ", ..." : "")}). Remove it, or train with data that has it.", dataName);

    /// <summary>A reader of the cursor's current row's labels, as text (a key's name for a key), distinct.</summary>
    public static Func<string[]> Getter(DataViewRowCursor cursor, DataViewSchema.Column column, char separator)
    {
        switch (column.Type)
        {
            case TextDataViewType:
            {
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                var text = default(ReadOnlyMemory<char>);
                return () =>
                {
                    getter(ref text);
                    return text.ToString().Split(separator).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct().ToArray();
                };
            }
            case VectorDataViewType { ItemType: TextDataViewType }:
            {
                var getter = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
                var texts = default(VBuffer<ReadOnlyMemory<char>>);
                return () =>
                {
                    getter(ref texts);
                    return texts.DenseValues().Select(t => t.ToString().Trim()).Where(l => l.Length > 0).Distinct().ToArray();
                };
            }
            default:
            {
                // Keys 1..n name the key values (or "0".."n-1" without them); key 0 is a missing value, no label.
                var names = KeyNames(column)!;
                var getter = cursor.GetGetter<VBuffer<uint>>(column);
                var keys = default(VBuffer<uint>);
                return () =>
                {
                    getter(ref keys);
                    return keys.DenseValues().Where(k => k > 0 && k <= names.Length).Select(k => names[k - 1]).Distinct().ToArray();
                };
            }
        }
    }
}

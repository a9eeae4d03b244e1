using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>
/// The label column of multi-label data, read once: per row, which labels it has. Labels come as users have them: text
/// with the labels separated ("dog;person", spaces around a label ignored, "" for none), a vector of text (one label an
/// element), or a vector of keys (MapValueToKey on such a vector; key 0, missing, is no label). The label names are the
/// text's distinct labels in ordinal order, or the keys' values in key order; data scored or validated later is read against the
/// training data's names, and a label they do not know is refused with its row.
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
        var found = data.Schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' is not in {dataName} (columns: {string.Join(", ", data.Schema.Select(c => c.Name))}).");
        string[]? keyNames = null;
        var perRow = found.Type switch
        {
            TextDataViewType => ReadRows<ReadOnlyMemory<char>>(data, found, (in ReadOnlyMemory<char> text) =>
                text.ToString().Split(separator).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray()),
            VectorDataViewType { ItemType: TextDataViewType } => ReadRows<VBuffer<ReadOnlyMemory<char>>>(data, found, (in VBuffer<ReadOnlyMemory<char>> texts) =>
                texts.DenseValues().Select(t => t.ToString().Trim()).Where(l => l.Length > 0).ToArray()),
            VectorDataViewType { ItemType: KeyDataViewType { RawType: var raw } } when raw == typeof(uint) => KeyRows(data, found, out keyNames),
            _ => throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' has type {found.Type}; expected text with the labels separated by '{separator}' (\"dog{separator}person\"), a vector of text, or a vector of keys (MapValueToKey on a vector of text)."),
        };
        names ??= keyNames ?? perRow.SelectMany(labels => labels).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (names.Count < 2)
            throw new ArgumentOutOfRangeException(nameof(column), $"The label column '{column}' of {dataName} holds {names.Count} distinct label(s) ({string.Join(", ", names)}); a multi-label classifier needs at least 2.");
        var index = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var rows = new List<bool[]>(perRow.Count);
        for (var row = 0; row < perRow.Count; row++)
        {
            var flags = new bool[names.Count];
            foreach (var label in perRow[row])
                flags[index.TryGetValue(label, out var i) ? i : throw new DataRowException(row, column,
                    $"the label '{label}' is not one of the {names.Count} the model was trained on ({string.Join(", ", names.Take(20))}{(names.Count > 20 ? ", ..." : "")}). Remove it, or train with data that has it.", dataName)] = true;
            rows.Add(flags);
        }
        return new LabelSets(names, rows);
    }

    private delegate string[] Labels<T>(in T value);

    static List<string[]> ReadRows<T>(IDataView data, DataViewSchema.Column column, Labels<T> labels)
    {
        var rows = new List<string[]>();
        using var cursor = data.GetRowCursor(new[] { column });
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(labels(in value));
        }
        return rows;
    }

    // Keys 1..n name the key values (or "0".."n-1" without them), in the keys' order; key 0 is a missing value, no label.
    static List<string[]> KeyRows(IDataView data, DataViewSchema.Column column, out string[] keyNames)
    {
        var count = (int)((KeyDataViewType)((VectorDataViewType)column.Type).ItemType).Count;
        var names = Pipeline.LabelColumn.KeyNames(column, count);
        keyNames = names;
        return ReadRows<VBuffer<uint>>(data, column, (in VBuffer<uint> keys) =>
            keys.DenseValues().Where(k => k > 0 && k <= count).Select(k => names[k - 1]).Distinct().ToArray());
    }
}

using EfficientNet.MLNet.MultiLabel;
using Microsoft.ML;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>Multi-label columns as users have them: "a;b" text, a vector of text, a vector of keys.</summary>
public class LabelSetsTests
{
    sealed class TextRow
    {
        public string Labels { get; set; } = "";
    }

    sealed class VectorRow
    {
        public string[] Labels { get; set; } = [];
    }

    static readonly MLContext Ml = new(seed: 1);

    [Fact]
    public void Delimited_text_gives_the_sorted_labels_and_each_rows_set()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Labels = "dog;person" }, new TextRow { Labels = " car ; dog " }, new TextRow { Labels = "" } });

        var sets = LabelSets.Read(data, "Labels");

        Assert.Equal(["car", "dog", "person"], sets.Names);
        Assert.Equal([false, true, true], sets.Rows[0]);
        Assert.Equal([true, true, false], sets.Rows[1]);
        Assert.Equal([false, false, false], sets.Rows[2]); // no labels: a row of its own, not an error
        Assert.Equal([1, 2, 1], sets.Counts);
    }

    [Fact]
    public void A_vector_of_text_and_a_vector_of_keys_give_the_same_sets()
    {
        var rows = new[] { new VectorRow { Labels = ["person", "dog"] }, new VectorRow { Labels = ["car"] }, new VectorRow { Labels = [] } };
        var text = Ml.Data.LoadFromEnumerable(rows);
        var keys = Ml.Transforms.Conversion.MapValueToKey("Labels").Fit(text).Transform(text);

        var fromText = LabelSets.Read(text, "Labels");
        var fromKeys = LabelSets.Read(keys, "Labels");

        Assert.Equal(["car", "dog", "person"], fromText.Names);
        Assert.Equal(["person", "dog", "car"], fromKeys.Names); // MapValueToKey's order: first appearance
        for (var row = 0; row < rows.Length; row++)
            Assert.Equal(rows[row].Labels.Order(StringComparer.Ordinal),
                fromKeys.Names.Where((_, label) => fromKeys.Rows[row][label]).Order(StringComparer.Ordinal));
        Assert.Equal(fromText.Rows.Select(r => r.Count(f => f)), fromKeys.Rows.Select(r => r.Count(f => f)));
    }

    [Fact]
    public void Validation_data_is_read_against_the_training_labels_and_an_unknown_one_names_its_row()
    {
        var training = LabelSets.Read(Ml.Data.LoadFromEnumerable(new[] { new TextRow { Labels = "a;b" }, new TextRow { Labels = "c" } }), "Labels");
        var validation = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Labels = "b" }, new TextRow { Labels = "a;zebra" } });

        var refused = Assert.Throws<DataRowException>(() => LabelSets.Read(validation, "Labels", training.Names, dataName: "the validation data"));

        Assert.Contains("Row 1 of the column 'Labels' in the validation data", refused.Message);
        Assert.Contains("the label 'zebra' is not one of the 3 the model was trained on (a, b, c)", refused.Message);
        Assert.Equal([false, true, false, false], LabelSets.Read(validation, "Labels", training.Names.Append("zebra").ToList()).Rows[0]);
    }

    [Fact]
    public void A_column_that_holds_no_labels_or_a_single_label_is_refused_with_what_is_expected()
    {
        var numbers = Ml.Data.LoadFromEnumerable(new[] { new { Labels = 3f } });
        var single = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Labels = "dog" }, new TextRow { Labels = "dog;" } });

        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => LabelSets.Read(numbers, "Labels"));
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => LabelSets.Read(numbers, "Tags"));
        var one = Assert.Throws<ArgumentOutOfRangeException>(() => LabelSets.Read(single, "Labels"));

        Assert.Contains("expected text with the labels separated by ';' (\"dog;person\"), a vector of text, or a vector of keys", wrongType.Message);
        Assert.Contains("The label column 'Tags' is not in the data (columns: Labels)", missing.Message);
        Assert.Contains("holds 1 distinct label(s) (dog); a multi-label classifier needs at least 2", one.Message);
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using LayerChop.Engine.Evaluation;

namespace LayerChop.Engine.Tests.Evaluation;

/// <summary>
/// LayerChop's port of Python's str.capitalize and whitespace against what Python itself does, recorded for every
/// assigned code point by tests/reference/make_casing_reference.py (python-casing.json: Unicode 14, Python 3.11).
/// </summary>
public class PythonTextTests
{
    static readonly JsonObject Python = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Evaluation", "python-casing.json")))!;

    static IEnumerable<int> Expand(string key) =>
        Python[key]!.AsArray().SelectMany(r => Enumerable.Range(r![0]!.GetValue<int>(), r[1]!.GetValue<int>() - r[0]!.GetValue<int>() + 1));

    // U+1171E AHOM CONSONANT SIGN MEDIAL RA became a spacing mark (Mc, not case-ignorable) in Unicode 15; .NET has
    // the newer data, as Python 3.12 and later do.
    static readonly int[] ChangedSinceUnicode14 = [0x1171E];

    static readonly int[] Assigned = Expand("assigned").Except(ChangedSinceUnicode14).ToArray();

    static string Text(string hexes) => string.Concat(hexes.Split(' ').Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber))));

    static Dictionary<int, string> Mapping(string key) =>
        Python[key]!.AsObject().ToDictionary(kv => int.Parse(kv.Key, NumberStyles.HexNumber), kv => Text(kv.Value!.GetValue<string>()));

    static void AssertEveryCodePoint(Func<int, string> expected, Func<int, string> actual, string what)
    {
        var wrong = Assigned.Where(cp => expected(cp) != actual(cp)).ToList();
        Assert.True(wrong.Count == 0, $"{what} differs from Python for {wrong.Count} code points: " +
            string.Join(", ", wrong.Take(12).Select(cp => $"U+{cp:X4} {Hex(actual(cp))} vs {Hex(expected(cp))}")));
    }

    static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4")));

    [Fact]
    public void Title_case_of_the_first_character_is_pythons_for_every_assigned_code_point()
    {
        var title = Mapping("title");
        AssertEveryCodePoint(cp => title.GetValueOrDefault(cp, char.ConvertFromUtf32(cp)), PythonText.TitleCase, "title case");
    }

    [Fact]
    public void Lower_case_of_the_other_characters_is_pythons_for_every_assigned_code_point()
    {
        var lower = Mapping("lower");
        AssertEveryCodePoint(cp => lower.GetValueOrDefault(cp, char.ConvertFromUtf32(cp)), cp => PythonText.LowerCase([cp], 0), "lower case");
    }

    [Fact]
    public void Cased_and_case_ignorable_characters_are_the_ones_pythons_final_sigma_rule_sees()
    {
        var ignorable = Expand("case_ignorable").ToHashSet();
        var cased = Expand("cased_not_ignorable").ToHashSet();
        AssertEveryCodePoint(cp => ignorable.Contains(cp).ToString(), cp => PythonText.IsCaseIgnorable(cp).ToString(), "case-ignorable");
        AssertEveryCodePoint(cp => cased.Contains(cp).ToString(), cp => (PythonText.IsCased(cp) && !PythonText.IsCaseIgnorable(cp)).ToString(), "cased");
    }

    [Fact]
    public void Whitespace_for_strip_is_pythons_isspace()
    {
        var space = Expand("space").ToHashSet();
        AssertEveryCodePoint(cp => (space.Contains(cp)).ToString(), cp => (cp < 0x10000 && PythonText.IsSpace((char)cp)).ToString(), "isspace");
        Assert.Equal("a", PythonText.Strip("\u001c a\u3000\u001f"));
    }

    [Fact]
    public void Capitalize_equals_python_on_ligatures_dotted_capital_i_digraphs_and_final_sigma()
    {
        foreach (var pair in Python["capitalize"]!.AsArray())
            Assert.Equal(pair![1]!.GetValue<string>(), PythonText.Capitalize(pair[0]!.GetValue<string>()));
        // The cases the harness's HellaSwag prompt meets, checked by hand against SpecialCasing.txt:
        Assert.Equal("Fish", PythonText.Capitalize("ﬁsh"));                    // U+FB01 title-cases to "Fi"
        Assert.Equal("Ki\u0307m", PythonText.Capitalize("KİM"));                 // U+0130 lowers to i + U+0307
        Assert.Equal("Οδυσσεας", PythonText.Capitalize("ΟΔΥΣΣΕΑΣ"));             // the last sigma is final
    }

    [Fact]
    public void Hellaswag_capitalizes_ctx_b_as_python_does()
    {
        var row = new TaskRow((JsonObject)JsonNode.Parse("""
            {"activity_label": "Cooking", "ctx_a": "A chef cuts.", "ctx_b": "ﬁnally SHE SERVES ΟΔΥΣΣΕΑΣ.",
             "endings": ["a", "b", "c", "d"], "label": 0}
            """)!, "hellaswag.jsonl", 1);
        var doc = EvalTasks.FindHarnessTask("hellaswag")!.Build(row);
        Assert.Equal("Cooking: A chef cuts. Finally she serves οδυσσεας.", doc.Requests[0].Context);
    }
}

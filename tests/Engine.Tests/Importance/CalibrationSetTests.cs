using System.Text;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Tests.Importance;

public class CalibrationSetTests
{
    /// <summary>One token per UTF-8 byte, EOS 257: token counts are easy to predict.</summary>
    sealed class ByteEncoder : ITextEncoder
    {
        public int? BosId => 256;
        public int? EosId => 257;
        public int VocabSize => 258;
        public bool AddBos => true;
        public IReadOnlyList<int> Encode(string text, bool addSpecial = false) =>
            (addSpecial ? [256] : Array.Empty<int>()).Concat(Encoding.UTF8.GetBytes(text).Select(b => (int)b)).ToList();
        public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Where(i => i < 256).Select(i => (byte)i).ToArray());
    }

    static string Write(string name, string content)
    {
        var path = Path.Combine(TestModels.TempFolder(), name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Documents_are_joined_with_eos_and_cut_into_the_first_sequences()
    {
        var path = Write("c.jsonl", "{\"text\": \"abcd\", \"id\": 1}\n\n{\"text\": \"efghij\"}\n{\"text\": \"klmnopqrstuvwxyz\"}\n");
        var calib = CalibrationSet.Load(path, new ByteEncoder(), count: 2, length: 5);
        Assert.Equal(2, calib.Count);
        Assert.Equal(10, calib.Tokens);
        Assert.Equal(new[] { 'a', 'b', 'c', 'd' }.Select(c => (int)c).Append(257), calib.Sequences[0]);
        Assert.Equal("efghi".Select(c => (int)c), calib.Sequences[1]);
    }

    [Fact]
    public void A_folder_reads_its_txt_and_jsonl_files_in_path_order()
    {
        var folder = TestModels.TempFolder();
        File.WriteAllText(Path.Combine(folder, "b.txt"), "BBBB");
        File.WriteAllText(Path.Combine(folder, "a.jsonl"), "{\"text\":\"AA\"}\n");
        File.WriteAllText(Path.Combine(folder, "notes.md"), "ignored");
        var calib = CalibrationSet.Load(folder, new ByteEncoder(), count: 1, length: 7);
        Assert.Equal(new[] { 'A', 'A' }.Select(c => (int)c).Append(257).Concat("BBBB".Select(c => (int)c)), calib.Sequences[0]);
    }

    [Fact]
    public void The_same_corpus_always_gives_the_same_set()
    {
        var path = Write("c.txt", string.Concat(Enumerable.Range(0, 200).Select(i => $"line {i}\n")));
        var a = CalibrationSet.Load(path, new ByteEncoder(), count: 4, length: 32);
        var b = CalibrationSet.Load(path, new ByteEncoder(), count: 4, length: 32);
        Assert.Equal(a.Sequences, b.Sequences);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   \n", "is empty")]
    [InlineData("short", "fewer than one sequence of 8")]
    [InlineData("0123456789abcdef", "gives 2 sequences of 8 tokens but 3 were asked for")]
    public void A_corpus_too_small_for_the_set_is_one_clear_line(string content, string expected)
    {
        var path = Write("c.txt", content);
        var e = Assert.Throws<LayerChopException>(() => CalibrationSet.Load(path, new ByteEncoder(), count: 3, length: 8));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Bad_corpus_files_are_one_clear_line_in_the_words_of_the_one_corpus_reader()
    {
        var encoder = new ByteEncoder();
        Assert.Contains(": line 2 is not valid JSON", Assert.Throws<LayerChopException>(() =>
            CalibrationSet.Load(Write("c.jsonl", "{\"text\":\"ok\"}\n{\"text\": \n"), encoder, 1, 10)).Message);
        Assert.Contains(": line 1 has no string field \"text\"", Assert.Throws<LayerChopException>(() =>
            CalibrationSet.Load(Write("c.jsonl", "{\"content\":\"x\"}\n"), encoder, 1, 2)).Message);
        Assert.Contains("has an unsupported extension", Assert.Throws<LayerChopException>(() =>
            CalibrationSet.Load(Write("c.csv", "a,b"), encoder, 1, 2)).Message);
        Assert.Contains("corpus file /nonexistent/corpus.txt does not exist", Assert.Throws<LayerChopException>(() =>
            CalibrationSet.Load("/nonexistent/corpus.txt", encoder, 1, 2)).Message);
        Assert.Contains("holds no supported files", Assert.Throws<LayerChopException>(() =>
            CalibrationSet.Load(TestModels.TempFolder(), encoder, 1, 2)).Message);
        Assert.Contains("empty", Assert.Throws<LayerChopException>(() => CalibrationSet.FromSequences([])).Message);
    }
}

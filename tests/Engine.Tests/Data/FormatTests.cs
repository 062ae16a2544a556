using System.Text;
using LayerChop.Engine.Data;
using TextDocuments = LayerChop.Engine.Data.Documents;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class FormatTests
{
    [Fact]
    public void EachFormatReadsTheSameDocumentsAndSplits()
    {
        using var temp = new TempFolder();
        var documents = NumberedDocuments(30);
        uint[] tokens = Tokens(documents);
        string Folder(string name) => Directory.CreateDirectory(temp.File(name)).FullName;

        string txtFolder = Folder("txt");
        for (int i = 0; i < documents.Length; i++)
            File.WriteAllText(Path.Combine(txtFolder, $"doc{i:D3}.txt"), documents[i]);
        var corpora = new Dictionary<string, (string[] Paths, bool Uint32Bin)>
        {
            ["jsonl"] = ([WriteJsonl(temp.File("a.jsonl"), documents)], false),
            ["gz"] = ([WriteJsonlGzip(temp.File("a.jsonl.gz"), documents)], false),
            ["zst"] = ([WriteJsonlZstd(temp.File("a.jsonl.zst"), documents)], false),
            ["txt folder"] = ([txtFolder], false),
            ["u16 bin"] = ([WriteBin(temp.File("a.bin"), tokens, 2)], false),
            ["u32 bin"] = ([WriteBin(temp.File("a.u32.bin"), tokens, 4)], false),
            ["bin read as u32"] = ([WriteBin(Path.Combine(Folder("wide"), "a.bin"), tokens, 4)], true),
            ["npy u2"] = ([WriteNpy(temp.File("a2.npy"), tokens, "<u2")], false),
            ["npy u4"] = ([WriteNpy(temp.File("a4.npy"), tokens, "<u4")], false),
        };

        // 100 per mille holds out documents 0, 10 and 20: the token files must cut documents where the text had them.
        uint[] expectedTrain = Tokens(documents.Where((_, i) => i % 10 != 0));
        uint[] expectedHeldout = Tokens(documents.Where((_, i) => i % 10 == 0));
        foreach (var (format, (paths, uint32Bin)) in corpora)
        {
            using var corpus = Open(temp, paths, heldoutPerMille: 100, uint32Bin: uint32Bin);
            Assert.True(expectedTrain.SequenceEqual(TrainTokens(corpus)), format);
            Assert.True(expectedHeldout.SequenceEqual(HeldoutTokens(corpus)), format);
            Assert.Equal(30, corpus.Documents);
            Assert.Equal(3, corpus.HeldoutDocuments);
        }

        foreach (string format in new[] { "jsonl", "gz", "zst", "txt folder" })
            Assert.Equal(documents, TextDocuments.Read(corpora[format].Paths));
    }

    [Fact]
    public void JsonlTextFieldIsSelectable()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("c.jsonl"), ["one", "two"], field: "content");
        using var corpus = Open(temp, [path], field: "content");
        Assert.Equal(Tokens(["one", "two"]), TrainTokens(corpus));
        Assert.Equal(["one", "two"], TextDocuments.Read([path], "content"));
    }

    [Fact]
    public void BlankLinesAndEmptyTextsAreSkipped()
    {
        using var temp = new TempFolder();
        string path = temp.File("e.jsonl");
        File.WriteAllText(path, "{\"text\":\"a\"}\r\n\n   \n{\"text\":\"\"}\n{\"text\":\"b\"}");
        Assert.Equal(["a", "b"], TextDocuments.Read([path]));
    }

    [Fact]
    public void FolderIsReadRecursivelyInOrdinalOrderSkippingHiddenAndUnsupportedFiles()
    {
        using var temp = new TempFolder();
        string root = Directory.CreateDirectory(temp.File("corpus")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "a"));
        Directory.CreateDirectory(Path.Combine(root, ".git"));
        WriteJsonl(Path.Combine(root, "b.jsonl"), ["third"]);
        File.WriteAllText(Path.Combine(root, "a", "c.txt"), "second");
        WriteJsonl(Path.Combine(root, "a.jsonl"), ["first"]);
        WriteJsonl(Path.Combine(root, ".hidden.jsonl"), ["hidden"]);
        WriteJsonl(Path.Combine(root, ".git", "x.jsonl"), ["hidden"]);
        File.WriteAllText(Path.Combine(root, "notes.md"), "not corpus");

        Assert.Equal(["first", "second", "third"], TextDocuments.Read([root]));
    }

    [Fact]
    public void LargeTextFileIsSplitIntoDocumentsAtBlankLines()
    {
        using var temp = new TempFolder();
        var text = new StringBuilder();
        for (int i = 0; text.Length < 2 * TextDocuments.TextDocumentChars + 1000; i++)
            text.Append($"Paragraph {i} says something.\nIt has a second line.\n\n");
        string path = temp.File("book.txt");
        File.WriteAllText(path, text.ToString());

        var documents = TextDocuments.Read([path]).ToList();
        Assert.Equal(3, documents.Count);
        Assert.Equal(text.ToString(), string.Concat(documents));
        Assert.All(documents.SkipLast(1), d =>
        {
            Assert.True(d.Length >= TextDocuments.TextDocumentChars);
            Assert.EndsWith("\n\n", d);
        });
    }

    [Fact]
    public void SmallTextFileIsOneDocument()
    {
        using var temp = new TempFolder();
        string path = temp.File("note.txt");
        File.WriteAllText(path, "para one\n\npara two\n");
        Assert.Equal(["para one\n\npara two\n"], TextDocuments.Read([path]));
    }
}

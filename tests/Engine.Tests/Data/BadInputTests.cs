using System.Text;
using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;
using TextDocuments = LayerChop.Engine.Data.Documents;

namespace LayerChop.Engine.Tests.Data;

public class BadInputTests
{
    private static LayerChopException Fails(TempFolder temp, string path, params string[] alsoContains)
    {
        var error = Assert.Throws<LayerChopException>(() => Open(temp, [path]).Dispose());
        AssertOneLineNaming(error, path, alsoContains);
        return error;
    }

    private static void AssertOneLineNaming(LayerChopException error, string path, params string[] alsoContains)
    {
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        foreach (string part in alsoContains)
            Assert.Contains(part, error.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        using var temp = new TempFolder();
        Fails(temp, temp.File("absent.jsonl"), "does not exist");
        var error = Assert.Throws<LayerChopException>(() => TextDocuments.Read([temp.File("absent.txt")]));
        AssertOneLineNaming(error, temp.File("absent.txt"));
    }

    [Fact]
    public void UnsupportedExtensionIsNamed()
    {
        using var temp = new TempFolder();
        string path = temp.File("table.csv");
        File.WriteAllText(path, "a,b\n");
        Fails(temp, path, "unsupported extension");
    }

    [Fact]
    public void FolderWithoutCorpusFilesIsNamed()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("empty")).FullName;
        File.WriteAllText(Path.Combine(folder, "readme.md"), "nothing");
        Fails(temp, folder, "no supported files");
    }

    [Fact]
    public void JsonlLineThatIsNotAnObjectNamesFileAndLine()
    {
        using var temp = new TempFolder();
        string path = temp.File("d.jsonl");
        File.WriteAllText(path, "{\"text\":\"ok\"}\n[1, 2]\n");
        Fails(temp, path, "line 2", "not a JSON object");
    }

    [Fact]
    public void JsonlLineWithoutTheFieldNamesFileLineAndField()
    {
        using var temp = new TempFolder();
        string path = temp.File("d.jsonl");
        File.WriteAllText(path, "{\"text\":\"ok\"}\n\n{\"body\":\"no text\"}\n");
        Fails(temp, path, "line 3", "\"text\"");
        File.WriteAllText(path, "{\"text\": 5}\n");
        Fails(temp, path, "line 1");
    }

    [Fact]
    public void JsonlLineThatIsNotJsonNamesFileAndLine()
    {
        using var temp = new TempFolder();
        string path = temp.File("d.jsonl");
        File.WriteAllText(path, "{\"text\":\"ok\"}\n{\"text\": \"unterminated\n");
        Fails(temp, path, "line 2", "not valid JSON");
    }

    [Fact]
    public void CorruptCompressedFilesAreNamed()
    {
        using var temp = new TempFolder();
        var garbage = Encoding.ASCII.GetBytes("this is not compressed data at all, not even a little bit");
        string gz = temp.File("d.jsonl.gz");
        string zst = temp.File("d.jsonl.zst");
        File.WriteAllBytes(gz, garbage);
        File.WriteAllBytes(zst, garbage);
        Fails(temp, gz, "cannot read");
        Fails(temp, zst, "cannot read");
    }

    [Fact]
    public void EmptyCorpusIsNamed()
    {
        using var temp = new TempFolder();
        string path = temp.File("empty.jsonl");
        File.WriteAllText(path, "\n\n");
        Fails(temp, path, "no tokens");
        string text = temp.File("empty.txt");
        File.WriteAllText(text, "");
        Fails(temp, text, "no tokens");
    }

    [Fact]
    public void CorpusTooSmallForOneSequenceSaysWhatItHasAndNeeds()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("tiny.jsonl"), ["abcd", "efg"]);
        using var corpus = Open(temp, [path]);
        var error = Assert.Throws<LayerChopException>(() => new SequenceLoader(corpus, 128, seed: 1));
        AssertOneLineNaming(error, path, "has 9 training tokens", "needs 129");
        Assert.Equal(1, new SequenceLoader(corpus, 8, seed: 1).SamplesPerEpoch);
    }

    [Fact]
    public void NpyWithUnsupportedDtypeOrShapeIsNamed()
    {
        using var temp = new TempFolder();
        uint[] tokens = [1, 2, 3, 4, 5, 6];
        Fails(temp, WriteNpy(temp.File("f.npy"), tokens, "<f4"), "'<f4'");
        Fails(temp, WriteNpy(temp.File("big.npy"), tokens, ">u2", elementSize: 2), "'>u2'");
        Fails(temp, WriteNpy(temp.File("i8.npy"), tokens, "<i8", elementSize: 4), "'<i8'");
        Fails(temp, WriteNpy(temp.File("2d.npy"), tokens, "<u2", "(2, 3)"), "1-D");
        Fails(temp, WriteNpy(temp.File("short.npy"), tokens, "<u2", "(7,)"), "promises 7 tokens");
        string notNpy = temp.File("text.npy");
        File.WriteAllText(notNpy, "hello there, not numpy");
        Fails(temp, notNpy, "magic");
    }

    [Fact]
    public void BinWithPartialTokenIsNamed()
    {
        using var temp = new TempFolder();
        string odd = temp.File("odd.bin");
        File.WriteAllBytes(odd, [1, 0, 2, 0, 3]);
        Fails(temp, odd, "5 bytes", "uint16");
        string ragged = temp.File("ragged.u32.bin");
        File.WriteAllBytes(ragged, [1, 0, 0, 0, 2, 0]);
        Fails(temp, ragged, "6 bytes", "uint32");
    }

    [Fact]
    public void TokenIdOutsideTheVocabularyIsNamed()
    {
        using var temp = new TempFolder();
        Fails(temp, WriteBin(temp.File("ids.bin"), [1, 2, 300, 4], 2), "token 2 is 300", "257");
        Fails(temp, WriteNpy(temp.File("ids.npy"), [1, 2, 3, 257], "<u4"), "token 3 is 257");
    }

    [Fact]
    public void EvaluationTextRefusesPreTokenizedFiles()
    {
        using var temp = new TempFolder();
        string path = WriteBin(temp.File("ids.bin"), [1, 2], 2);
        var error = Assert.Throws<LayerChopException>(() => TextDocuments.Read([path]));
        AssertOneLineNaming(error, path, "pre-tokenized");
    }
}

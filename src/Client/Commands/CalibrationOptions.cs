using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Client.Commands;

/// <summary>The calibration-set options that chop (data-driven strategies) and model importance share.</summary>
public sealed class CalibrationOptions
{
    public readonly Option<string?> Path = new("--calib")
    {
        Description = "Calibration corpus, read as a healing corpus is: .txt, .jsonl, .jsonl.gz or .jsonl.zst files, or folders of them",
    };
    public readonly Option<string> TextField = Cli.TextFieldOption();
    public readonly Option<int> Sequences = new("--calib-sequences")
    {
        Description = "Number of calibration sequences (the first N of the corpus)", DefaultValueFactory = _ => CalibrationSet.DefaultSequences,
    };
    public readonly Option<int> Length = new("--calib-seq-len")
    {
        Description = "Tokens per calibration sequence (at most the model's context)", DefaultValueFactory = _ => CalibrationSet.DefaultLength,
    };
    public readonly Option<string> DType = new("--dtype")
    {
        Description = "Compute dtype for measuring: f32, bf16 or f16", DefaultValueFactory = _ => "f32",
    };

    public IEnumerable<Option> All => [Path, TextField, Sequences, Length, DType];

    /// <summary>
    /// The calibration set for the model in <paramref name="folder"/>, tokenized with its tokenizer. The context
    /// length is checked against config.json first, so a bad --calib-seq-len fails before the corpus is read.
    /// </summary>
    public CalibrationSet Load(ParseResult p, string folder, string why)
    {
        string path = p.GetValue(Path) ?? throw new LayerChopException($"{why} measures the model on a calibration set: give --calib PATH (.txt, .jsonl, .jsonl.gz or .jsonl.zst files, or a folder of them)");
        CalibrationMeasures.CheckLength(ModelConfig.Load(folder), p.GetValue(Length));
        return CalibrationSet.Load(path, TextTokenizer.Load(folder), p.GetValue(Sequences), p.GetValue(Length), p.GetValue(TextField)!);
    }

    public static object Json(CalibrationSet calib) => new Dictionary<string, object>
    {
        ["path"] = calib.Source, ["sequences"] = calib.Count, ["seq_len"] = calib.Length,
    };
}

namespace LayerChop.Settings;

/// <summary>How text corpora are read wherever one is named: healing data, calibration, held-out text, document tasks.</summary>
public static class TextCorpus
{
    /// <summary>The field of a JSONL line that holds a document's text, unless a `--text-field` or `text_field` says otherwise.</summary>
    public const string DefaultField = "text";
}

/// <summary>The seed a candidate runs with when its spec names none.</summary>
public static class CandidateSeed
{
    public const long Default = 1;
}

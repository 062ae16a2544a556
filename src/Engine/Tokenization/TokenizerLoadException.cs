namespace LayerChop.Engine.Tokenization;

/// <summary>
/// A tokenizer folder could not be loaded: no tokenizer file was found, or the file is malformed or
/// uses a feature this loader does not support. The message is one line naming the file and the problem.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string message) : base(message) { }

    public TokenizerLoadException(string message, Exception innerException) : base(message, innerException) { }
}

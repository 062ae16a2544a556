namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// A checkpoint file or folder is malformed: the message is one line that names the file and says what is wrong.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string message) : base(message) { }
}

namespace LayerChop.Engine;

/// <summary>Publishes a finished piece of work (moves it into place) only while the caller may.</summary>
public interface IPublishGate
{
    /// <summary>Runs <paramref name="commit"/> (a rename or a delete) if this process still owns the folder; throws otherwise.</summary>
    /// <exception cref="AttemptFencedException">a newer attempt owns the folder; nothing was done.</exception>
    void Publish(Action commit);
}

/// <summary>Publishes always: work run by hand, outside any sweep.</summary>
public sealed class OpenGate : IPublishGate
{
    public static readonly OpenGate Instance = new();
    public void Publish(Action commit) => commit();
}

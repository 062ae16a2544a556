namespace LayerChop.Engine;

/// <summary>
/// A problem with what the user asked for or supplied (a missing folder, a malformed config, an impossible
/// chop). Its message is one line that says what is wrong and what to do; commands print it as is.
/// </summary>
public class LayerChopException(string message) : Exception(message);

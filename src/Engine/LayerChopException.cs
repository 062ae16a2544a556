namespace LayerChop.Engine;

/// <summary>
/// A problem with what the user asked for or supplied (a missing folder, a malformed config, an impossible
/// chop). Its message is one line that says what is wrong and what to do; commands print it as is.
/// </summary>
public class LayerChopException(string message) : Exception(message);

/// <summary>Files the user names, read with one-line errors.</summary>
public static class UserFile
{
    /// <summary>The file's text; a missing or unreadable file is a <see cref="LayerChopException"/> naming it as <paramref name="what"/>.</summary>
    /// <param name="what">what the file is, for the message: "spec file", "silo configuration file".</param>
    public static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LayerChopException($"{path}: no such {what}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"{path}: cannot read the {what} ({e.Message})");
        }
    }
}

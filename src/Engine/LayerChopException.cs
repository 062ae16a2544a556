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

/// <summary>Folders the user names for a command to write into: one policy for every --out.</summary>
public static class UserFolder
{
    /// <summary>
    /// A folder the command fills: new or empty, never one that holds anything (a user's files are not
    /// overwritten). It is created (empty) here, so a place that cannot be written to is one line now, naming the
    /// path, instead of an error about a temporary file later. Returns the full path.
    /// </summary>
    /// <param name="option">how the command names it, for the message ("--out").</param>
    public static string RequireNewOrEmpty(string? path, string option)
    {
        var full = RefuseTaken(path, option);
        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".probe.{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"{option} {path}: cannot create a folder there{Why(e)}");
        }
        return full;
    }

    /// <summary>
    /// Refuses, in one line, a place a command would fill that is no new or empty folder: an empty path, a file, a
    /// folder that holds anything. Creates nothing. Returns the full path.
    /// </summary>
    public static string RefuseTaken(string? path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new LayerChopException($"{option} is empty: give the path of a new folder");
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new LayerChopException($"{option} {path} is a file; give the path of a new folder");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new LayerChopException($"{path} already exists and is not empty; choose another {option} or delete it");
        return full;
    }

    /// <summary>" (permission denied)" and the like; nothing where the system's words would name the wrong thing
    /// (a folder that cannot be made under /proc is "Could not find file").</summary>
    public static string Why(Exception e) => e switch
    {
        UnauthorizedAccessException => " (permission denied)",
        FileNotFoundException or DirectoryNotFoundException => "",
        _ => $" ({e.Message})",
    };
}

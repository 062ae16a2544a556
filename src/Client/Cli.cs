using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Client;

/// <summary>Conventions every command shares: one-line errors on stderr, exit codes, JSON output.</summary>
public static class Cli
{
    public const int UserError = (int)Worker.WorkerExit.BadInput;
    public const int InternalError = (int)Worker.WorkerExit.InternalError;
    /// <summary>Stopped by Ctrl-C or SIGTERM (128 + SIGINT), as a worker that was asked to stop.</summary>
    public const int Interrupted = (int)Worker.WorkerExit.Stopped;

    /// <summary>Runs a command body; a problem with the user's input becomes one line on stderr and exit code 2.</summary>
    /// <param name="onError">also receives the one-line message (the worker puts it in its JSON events).</param>
    public static int Run(Func<int> body, Action<string>? onError = null)
    {
        try
        {
            return body();
        }
        catch (ExitCodeException e)
        {
            return e.Code;
        }
        catch (Exception e) when (e is LayerChopException or CheckpointFormatException or TokenizerLoadException
                                       or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            onError?.Invoke(OneLine(e.Message));
            return Fail(e.Message);
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("LAYERCHOP_DEBUG") != "1")
        {
            string message = $"internal error ({e.GetType().Name}): {OneLine(e.Message)}";
            onError?.Invoke(message);
            Console.Error.WriteLine($"error: {message} (set LAYERCHOP_DEBUG=1 for the stack trace, and please report it)");
            return InternalError;
        }
    }

    /// <summary>Every command of the layerchop binary.</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("LayerChop: make an LLM smaller and faster by removing whole layers, healing it with continued pretraining, and measuring what it kept.");
        root.Subcommands.Add(Commands.ModelCommands.Create());
        root.Subcommands.Add(Commands.ChopCommand.Create());
        root.Subcommands.Add(Commands.GenerateCommand.Create());
        root.Subcommands.Add(Commands.TrainCommand.Create());
        root.Subcommands.Add(Commands.PlanCommand.Create());
        root.Subcommands.Add(Commands.WorkerCommand.Create());
        root.Subcommands.Add(Commands.SweepCommands.Create());
        root.Subcommands.Add(Commands.DemoCommand.Create());
        root.Subcommands.Add(Commands.SiloCommand.Create());
        root.Subcommands.Add(Commands.SiloCommand.Slots());
        root.Subcommands.Add(Commands.EvalCommand.Create());
        root.Subcommands.Add(Commands.DbCommands.Create());
        return root;
    }

    public static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + OneLine(message));
        return UserError;
    }

    public static string OneLine(string message)
    {
        var first = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return first.Length > 0 ? first : message.Trim();
    }

    /// <summary>Indented JSON in the one format of every output (<see cref="Settings.JsonFormat"/>).</summary>
    public static void WriteJson(object value) =>
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, Settings.JsonFormat.Indented));

    /// <summary>One JSON object on one line, flushed at once (JSON-lines outputs).</summary>
    public static void WriteJsonLine(object value)
    {
        Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, Settings.JsonFormat.Line));
        Console.Out.Flush();
    }

    /// <summary>The JSONL field of a corpus's text, for every command that reads a corpus.</summary>
    public static Option<string> TextFieldOption() => new("--text-field")
    {
        Description = "Field of a JSONL line that holds a document's text", DefaultValueFactory = _ => LayerChop.Settings.TextCorpus.DefaultField,
    };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print machine-readable JSON instead of a table" };

    /// <summary>Where the model runs; resolved by Trainer.ResolveDevice.</summary>
    public static Option<string> DeviceOption() => new("--device") { Description = "cpu, cuda or auto", DefaultValueFactory = _ => "cpu" };

    public static string Count(long n) => n switch
    {
        >= 1_000_000_000 => $"{n / 1e9:0.##}B",
        >= 1_000_000 => $"{n / 1e6:0.##}M",
        >= 10_000 => $"{n / 1e3:0.#}k",
        _ => n.ToString(),
    };
}

/// <summary>Ends a command with this exit code and nothing more on stderr: a child process already said why.</summary>
public sealed class ExitCodeException(int code) : Exception($"exit code {code}")
{
    public int Code => code;
}

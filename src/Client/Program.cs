using System.CommandLine;
using LayerChop.Client;
using LayerChop.Client.Commands;

var root = new RootCommand("LayerChop: make an LLM smaller and faster by removing whole layers, healing it with continued pretraining, and measuring what it kept.");
root.Subcommands.Add(ModelCommands.Create());
root.Subcommands.Add(ChopCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
root.Subcommands.Add(SweepCommands.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(SiloCommand.Create());
root.Subcommands.Add(SiloCommand.Slots());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(DbCommands.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    var command = string.Join(' ', parse.CommandResult.Command.Parents.OfType<Command>().Reverse()
        .Append(parse.CommandResult.Command).Select(c => c is RootCommand ? "layerchop" : c.Name));
    return Cli.Fail($"{parse.Errors[0].Message} (see '{command} --help')");
}
return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

using System.CommandLine;
using LayerChop.Client;
using LayerChop.Client.Commands;

var root = Cli.Root();

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    var command = string.Join(' ', parse.CommandResult.Command.Parents.OfType<Command>().Reverse()
        .Append(parse.CommandResult.Command).Select(c => c is RootCommand ? "layerchop" : c.Name));
    return Cli.Fail($"{parse.Errors[0].Message} (see '{command} --help')");
}
return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

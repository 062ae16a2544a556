using System.CommandLine;
using LayerChop.Worker;

namespace LayerChop.Client.Commands;

/// <summary>`layerchop worker JOB.json`: plumbing that silos call, run by <see cref="WorkerMain"/>.</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("JOB") { Description = "Candidate job file (JSON, snake_case fields of a CandidateJob)" };
        var command = new Command("worker", "Run one sweep candidate end to end; progress as JSON lines on stdout (the worker protocol: {\"event\":\"started\"|\"stage\"|\"heal_progress\"|\"eval_progress\"|\"checkpoint\"|\"message\"|\"result\"|\"failure\"|\"stopped\"|\"fenced\",\"attempt\":N,...}); rerunning continues where it stopped")
        {
            job,
        };
        command.SetAction(p => WorkerMain.Run(p.GetValue(job)!, (body, onError) => Cli.Run(body, onError)));
        return command;
    }
}

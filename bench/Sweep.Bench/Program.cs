using LayerChop.SweepBench;

// Sweep scheduler benchmarks whose figures go to bench/RESULTS.md. Each prints its figures on stdout.
//   layerchop-sweep-bench front [--candidates 1000] [--calls 2000]
//       GetFront / GetStatus (all, and changed since a revision) / GetResults latency (p50, p99) of a coordinator
//       holding N completed candidates (an embedded silo with 0 worker slots; the bench is its supervisor: TakeNext,
//       then End with a synthetic result), from the silo's grain factory and from a cluster client in a process of
//       its own, through the silo's gateway
//   layerchop-sweep-bench scale [--candidates 10000] [--changes 200] [--calls 200]
//       the same protocol at 10,000 candidates: submit, silo memory, End round trip of one status change in sweeps
//       of 10 and of N, the coordinator's re-activation, GetStatus (all, and changed since a revision)
//   layerchop-sweep-bench schedule [--slots 1,2] [--runs 3]
//       per-candidate overhead from submit (or a freed slot) to the worker's start, 6 quick candidates, a fresh embedded
//       silo per run
//   layerchop-sweep-bench resume [--cluster CONN] [--runs 3]
//       time for a killed single-silo cluster to resume a healing candidate once a silo starts again (PostgreSQL:
//       deploy/postgres.sh start; CONN defaults to $LAYERCHOP_CLUSTER, else the test server on 127.0.0.1:55432)
//   layerchop-sweep-bench query --gateway PORT --sweep NAME [--calls N] [--since REVISION] [--silo-pid PID]
//       the client side of `front` and `scale`, which start it
// Common options: --work DIR (default $TMPDIR/layerchop-sweep-bench), --layerchop DLL (default the Release build of
// src/Client), --brown DIR (the Brown Corpus; default ~/.cache/layerchop/brown, else tests/.data/brown).
const string Usage = "usage: layerchop-sweep-bench front [--candidates N] [--calls N] | scale [--candidates N] [--changes N] [--calls N] | schedule [--slots 1,2] [--runs N] | resume [--cluster CONN] [--runs N]  [--work DIR] [--layerchop DLL] [--brown DIR]";
if (args.Length == 0 || args[0] is not ("front" or "scale" or "schedule" or "resume" or "query"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}
var options = new BenchOptions(args.Skip(1));
if (args[0] == "query") return await FrontBench.Query(options);       // the client process that `front` starts
var inputs = BenchInputs.Prepare(options);
return args[0] switch
{
    "front" => await FrontBench.Run(inputs, options),
    "scale" => await ScaleBench.Run(inputs, options),
    "schedule" => await ScheduleBench.Run(inputs, options),
    _ => await ResumeBench.Run(inputs, options),
};

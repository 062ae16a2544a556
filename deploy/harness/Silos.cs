using System.Diagnostics;

namespace LayerChop.FaultHarness;

/// <summary>
/// The silo of one host, kept running as a service manager would (restart on exit, after a pause): started in
/// the host's network namespace, advertising the host's address, its log appended to one file per host.
/// </summary>
public sealed class SiloRunner(NetHost host, Func<SiloRunner, string[]> arguments, string logFile, Action<string> say) : IDisposable
{
    readonly object gate = new();
    Process? process;
    bool running = true;
    DateTime holdUntil = DateTime.MinValue;
    Task loop = Task.CompletedTask;
    int starts;

    public NetHost Host => host;
    public int Port { get; private set; } = 11111;
    public int GatewayPort { get; private set; } = 30000;
    public const int WebPort = 8080;
    /// <summary>After the silo exits, it is started again this long after (or after a hold set by a fault).</summary>
    public static readonly TimeSpan RestartPause = TimeSpan.FromSeconds(3);

    public void Start() => loop = Task.Run(Loop);

    /// <summary>The next start waits until <paramref name="until"/> and uses these ports.</summary>
    public void HoldRestart(DateTime until, int? port = null, int? gatewayPort = null)
    {
        lock (gate)
        {
            holdUntil = until;
            if (port is { } p) Port = p;
            if (gatewayPort is { } g) GatewayPort = g;
        }
    }

    async Task Loop()
    {
        while (true)
        {
            Process p;
            lock (gate)
            {
                if (!running) return;
                var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = false };
                foreach (var a in (string[])["netns", "exec", host.Namespace, .. arguments(this)]) info.ArgumentList.Add(a);
                File.AppendAllText(logFile, $"--- {DateTime.UtcNow:O} start {++starts} on {host.Address}:{Port} (gateway {GatewayPort})\n");
                p = Process.Start(info) ?? throw new HarnessException("could not start a silo");
                p.OutputDataReceived += (_, e) => Append(e.Data);
                p.ErrorDataReceived += (_, e) => Append(e.Data);
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                process = p;
            }
            await p.WaitForExitAsync();
            File.AppendAllText(logFile, $"--- {DateTime.UtcNow:O} exit {p.ExitCode}\n");
            say($"{host.Name}: silo exited ({p.ExitCode})");
            DateTime until;
            lock (gate) until = holdUntil;
            var pause = until - DateTime.UtcNow;
            await Task.Delay(pause > RestartPause ? pause : RestartPause);
        }
    }

    void Append(string? line)
    {
        if (line is null) return;
        lock (logFile) File.AppendAllText(logFile, line + "\n");
    }

    /// <summary>Stops the silo as an operator would (SIGTERM: workers checkpoint and hand back), then kill -9 of what is left.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Process? p;
        lock (gate) { running = false; p = process; }
        if (p is { HasExited: false }) Signal(p.Id, 15);
        var deadline = DateTime.UtcNow + grace;
        while (p is { HasExited: false } && DateTime.UtcNow < deadline) await Task.Delay(200);
        TestNetwork.KillAll(host);
        await loop;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern int kill(int pid, int signal);

    static void Signal(int pid, int signal) => kill(pid, signal);

    public void Dispose()
    {
        lock (gate) running = false;
        TestNetwork.KillAll(host);
    }
}

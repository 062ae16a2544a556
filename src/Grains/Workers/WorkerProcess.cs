using System.Diagnostics;
using System.Text.Json;
using LayerChop.Worker;

namespace LayerChop.Grains.Workers;

/// <summary>
/// One `layerchop worker` process: its job file, its pinned device, its JSON-lines events. The process is
/// told the silo's process id and exits by itself when the silo is gone, so no orphan keeps a GPU.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    readonly Process process;
    readonly List<string> stderrTail = [];

    WorkerProcess(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderrTail) { stderrTail.Add(e.Data); if (stderrTail.Count > 20) stderrTail.RemoveAt(0); }
        };
        process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(WorkerOptions options, CandidateJob job, int slot)
    {
        Directory.CreateDirectory(job.WorkDir);
        // One file per attempt: a worker reads its job after it starts, and a shared file could by then hold a newer
        // attempt's job, which it would run under that attempt's number, past the fence.
        var jobFile = Path.Combine(job.WorkDir, JobFile(job.Attempt));
        var temp = $"{jobFile}.{job.Attempt}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(job, CandidateJob.FileFormat));
        File.Move(temp, jobFile, overwrite: true);
        var info = new ProcessStartInfo(options.Command[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = job.WorkDir,
        };
        foreach (var arg in options.Command.Skip(1)) info.ArgumentList.Add(arg);
        info.ArgumentList.Add("worker");
        info.ArgumentList.Add(jobFile);
        info.Environment["LAYERCHOP_PARENT_PID"] = Environment.ProcessId.ToString();
        info.Environment["CUDA_VISIBLE_DEVICES"] = options.Gpu ? options.Devices[slot].ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
        // One worker per GPU of the host, and per CPU slot of a silo's address, even across a restart of the
        // silo (HostSlot); several silos of one test machine have CPU slots of their own.
        var endpoint = job.Where?.Split('@')[0] ?? "local";
        info.Environment[HostSlot.Variable] = options.Gpu ? $"gpu-{options.Devices[slot]}" : $"cpu-{endpoint}-{slot}";
        if (options.CpuThreads > 0) info.Environment["LAYERCHOP_THREADS"] = options.CpuThreads.ToString();
        if (options.MemoryOf(slot) is { } memory) info.Environment[SlotMemory.Variable] = memory.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in options.WorkerEnvironment) info.Environment[name] = value;
        return new WorkerProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the worker process"));
    }

    /// <summary>The job file of attempt <paramref name="attempt"/> in the candidate's folder.</summary>
    public static string JobFile(int attempt) => $"job-{attempt}.json";

    public int Id => process.Id;

    /// <summary>The next event line, or null when the worker closed its output.</summary>
    public Task<string?> ReadLineAsync(CancellationToken cancel) => process.StandardOutput.ReadLineAsync(cancel).AsTask();

    public async Task<int> WaitAsync()
    {
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    public string StderrTail() { lock (stderrTail) return string.Join(" | ", stderrTail.TakeLast(3)); }

    /// <summary>Asks the worker to checkpoint and stop (SIGTERM); it writes a checkpoint first.</summary>
    public void Stop()
    {
        try { if (!process.HasExited) kill(process.Id, SigTerm); }
        catch (InvalidOperationException) { }
    }

    const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    public void Kill()
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    public void Dispose() { Kill(); process.Dispose(); }
}

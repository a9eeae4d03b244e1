using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// A real Slurm on this machine for a test: munged, slurmctld and slurmd (Debian's slurm-wlm 22.05 and munge), started
/// in the foreground as child processes with a minimal configuration in a temporary folder (one node with this
/// machine's CPUs, loopback only, ports found free), and stopped by the process ids recorded here when disposed.
/// Needs root (slurmd runs jobs as their users) and the packages; <see cref="WhyNot"/> says what is missing.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SlurmCluster : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly List<Process> daemons = [];

    /// <summary>Why a cluster cannot be started here, or null.</summary>
    public static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux())
            return "Slurm runs on Linux only";
        if (Environment.UserName != "root")
            return "starting slurmd needs root (.ci/run runs as root and installs slurm-wlm and munge)";
        foreach (var program in new[] { "/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch" })
            if (!File.Exists(program))
                return $"{program} is missing: apt-get install slurm-wlm munge";
        return null;
    }

    public SlurmCluster()
    {
        var node = Run("hostname", "-s").Trim();
        var key = folder.File("munge/munge.key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(key, UnixFileMode.UserRead);
        Socket = folder.File("munge/munge.socket");
        Start("/usr/sbin/munged", "--foreground", "--force", $"--key-file={key}", $"--socket={Socket}", $"--pid-file={folder.File("munge/munged.pid")}",
            $"--log-file={folder.File("munge/munged.log")}", $"--seed-file={folder.File("munge/munge.seed")}");
        WaitFor(() => File.Exists(Socket), "munged's socket");
        foreach (var directory in new[] { "state", "spool", "log" })
            Directory.CreateDirectory(folder.File(directory));
        ConfigurationFile = folder.File("slurm.conf");
        File.WriteAllText(ConfigurationFile, $"""
            ClusterName=efficientnet-test
            SlurmctldHost={node}(127.0.0.1)
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            AuthInfo=socket={Socket}
            CredType=cred/munge
            StateSaveLocation={folder.File("state")}
            SlurmdSpoolDir={folder.File("spool")}
            SlurmctldPidFile={folder.File("slurmctld.pid")}
            SlurmdPidFile={folder.File("slurmd.pid")}
            SlurmctldLogFile={folder.File("log/slurmctld.log")}
            SlurmdLogFile={folder.File("log/slurmd.log")}
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            SchedulerType=sched/backfill
            MpiDefault=none
            ReturnToService=2
            JobCompType=jobcomp/none
            AccountingStorageType=accounting_storage/none
            JobAcctGatherType=jobacct_gather/none
            SwitchType=switch/none
            MinJobAge=600
            NodeName={node} NodeAddr=127.0.0.1 CPUs={Environment.ProcessorCount} State=UNKNOWN
            PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP
            """);
        Start("/usr/sbin/slurmctld", "-D", "-i", "-f", ConfigurationFile);
        Start("/usr/sbin/slurmd", "-D", "-f", ConfigurationFile);
        WaitFor(() => Run("sinfo", "-h", "-o", "%t").Trim() == "idle", "the node to be idle (sinfo)");
    }

    /// <summary>The slurm.conf that clients use (SLURM_CONF).</summary>
    public string ConfigurationFile { get; }

    /// <summary>munged's socket.</summary>
    public string Socket { get; }

    /// <summary>The process ids of the daemons started, for their stop.</summary>
    public IReadOnlyList<int> DaemonIds => daemons.Select(d => d.Id).ToList();

    /// <summary>Runs a Slurm client command (sbatch, squeue, scontrol, ...) against this cluster; its standard output.</summary>
    public string Run(string program, params string[] arguments)
    {
        var (exit, output, error) = RunWithExit(program, arguments);
        if (exit != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {exit}: {error}");
        return output;
    }

    public (int Exit, string Output, string Error) RunWithExit(string program, string[] arguments, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        if (ConfigurationFile is not null)
            start.Environment["SLURM_CONF"] = ConfigurationFile;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>Waits until none of the jobs is pending or running any more (at most <paramref name="bound"/>).</summary>
    public void WaitForJobs(TimeSpan bound, params string[] jobs)
    {
        WaitFor(() => Run("squeue", "-h", "-j", string.Join(',', jobs)).Trim().Length == 0, $"jobs {string.Join(", ", jobs)} to end", bound);
    }

    /// <summary>The state Slurm recorded for a job or array task (e.g. COMPLETED, FAILED, CANCELLED).</summary>
    public string State(string job) => Run("scontrol", "-o", "show", "job", job).Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .First(field => field.StartsWith("JobState=", StringComparison.Ordinal))["JobState=".Length..];

    void Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        daemons.Add(process);
        _ = Task.Run(() => { while (process.StandardOutput.ReadLine() is not null) { } });
        _ = Task.Run(() => { while (process.StandardError.ReadLine() is not null) { } });
    }

    void WaitFor(Func<bool> condition, string what, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (daemons.FirstOrDefault(d => d.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.StartInfo.FileName} exited with {dead.ExitCode} while waiting for {what}: {Logs()}");
            try
            {
                if (condition())
                    return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                // not answering yet
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Slurm: gave up waiting for {what}. {Logs()}");
            Thread.Sleep(250);
        }
    }

    string Logs() => string.Join("\n", new[] { "log/slurmctld.log", "log/slurmd.log", "munge/munged.log" }
        .Where(f => File.Exists(folder.File(f))).Select(f => $"{f}: " + string.Join("\n", File.ReadLines(folder.File(f)).TakeLast(8))));

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops slurmd, slurmctld and munged (in that order) by the process ids recorded, and removes the folder.</summary>
    public void Dispose()
    {
        foreach (var daemon in Enumerable.Reverse(daemons))
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
                daemon.WaitForExit(10_000);
            }
            daemon.Dispose();
        }
        folder.Dispose();
    }
}

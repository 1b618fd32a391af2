using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using NetBufNative.Bench;
using Perfolizer.Horology;

// Default: a short in-process run of every benchmark (one to two minutes on 2 cores). The console
// gets the machine line, one table per benchmark class (Method, parameters, Mean, Ratio, Allocated;
// the multi-thread and layout classes as their 3 interleaved rounds), the burst latency
// percentiles and the performance goals with their verdicts, plus a progress line while it runs;
// BenchmarkDotNet's whole log (iteration logs, warnings, its own full tables) and the tables only
// the log keeps go to a file whose path is printed first and last.
// "--repeat N": the whole run N times in this process, then every target's ratio per run and its
// spread over the runs.
// Times are CPU time of the process (CpuTimeClock: the VM is shared, and time spent waiting for a
// core would otherwise land on whichever row ran while the machine was busiest); per pair over all
// threads it is the summed CPU time. "--wall": wall-clock time instead (the multi-thread rows are
// then wall time per pair over all threads, whose inverse is the aggregate throughput).
// "--full": BenchmarkDotNet's default, statistically rigorous out-of-process job (wall clock).
// "--smoke": every benchmark once (BenchmarkDotNet's Dry job, in process), then the report code over
// those results; seconds; exits 1 if anything threw. CI runs it.
// Any other arguments go to BenchmarkDotNet as usual (e.g. --filter '*Bulk*'; --list and --help
// print to the console).
// "responder ...", "drivers ...", "forward ...", "macswap ...", "latency ..." and "versus ...": the driver modes (root on Linux; see Drivers/DriverModes.cs and README.md).
if (NetBufNative.Bench.Drivers.DriverModes.TryRun(args) is int exitCode)
{
    return exitCode;
}

// "xdp": only the AF_XDP driver rows (AF_XDP, AF_PACKET, the kernel's echo) on a veth pair
// in a namespace made for the run; needs root (says so otherwise).
if (args.Length > 0 && args[0] == "xdp")
{
    Machine.Print();
    DriverBench.Run();
    return 0;
}

// "soak [--seconds N] [--threads N]": not a benchmark; every operation mix at once (see Soak).
if (args.Length > 0 && args[0] == "soak")
{
    return Soak.RunFromArguments(args);
}

bool full = args.Contains("--full");
bool smoke = args.Contains("--smoke");
bool wall = args.Contains("--wall") || !OperatingSystem.IsLinux();
int repeat = 1;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] is "--full" or "--wall" or "--smoke")
    {
        continue;
    }

    if (args[i] == "--repeat" && i + 1 < args.Length &&
        int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out repeat) && repeat >= 1)
    {
        i++;
        continue;
    }

    rest.Add(args[i]);
}

var switcher = BenchmarkSwitcher.FromAssembly(typeof(SingleThreadBenchmarks).Assembly);
if (rest.Any(a => a is "--help" or "-h" or "-?" or "--list" or "--info" or "--version"))
{
    // BenchmarkDotNet's own answers, on the console as usual.
    switcher.Run([.. rest], DefaultConfig.Instance);
    return 0;
}

bool everything = !rest.Any(a => a is "--filter" or "-f");
if (everything)
{
    rest.AddRange(["--filter", "*"]); // without a filter BenchmarkDotNet would ask on the console
}

Machine.CpuTime = !full && !wall && !smoke;
Machine.Clock = smoke ? "none (smoke: every benchmark once)" : full ? "wall clock (out of process)" : wall ? "wall clock" : "process CPU time (summed over threads; --wall for wall clock)";

using RunLog log = RunLog.Open(smoke ? "netbuf-bench-smoke" : "netbuf-bench");
var progress = new Progress(log.Screen, inPlace: !Console.IsOutputRedirected, log.TakeLastException);
var clock = Stopwatch.StartNew();

// BenchmarkDotNet's default config without its console logger and its own log file: the only
// logger is the run's log file, and the console gets the progress events instead.
ManualConfig config = ManualConfig.CreateEmpty()
    .AddColumnProvider(DefaultColumnProviders.Instance)
    .AddAnalyser([.. DefaultConfig.Instance.GetAnalysers()])
    .AddValidator([.. DefaultConfig.Instance.GetValidators()])
    .AddLogger(log.Logger)
    .AddEventProcessor(progress)
    .WithSummaryStyle(SummaryStyle.Default.WithTimeUnit(TimeUnit.Nanosecond))
    .WithOrderer(RoundsFirstOrderer.Instance)
    .WithOptions(ConfigOptions.DisableLogFile);
if (smoke)
{
    config.AddJob(Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).WithId("Smoke"));
}
else
{
    config.AddExporter([.. DefaultConfig.Instance.GetExporters()]);
    if (!full)
    {
        config.AddJob(
            Job.ShortRun
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithWarmupCount(2)
                .WithIterationCount(5)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .WithClock(wall ? Chronometer.BestClock : CpuTimeClock.Instance)
                .WithId(wall ? "Short" : "ShortCpu"));
    }
}

Machine.Print();
Console.WriteLine($"// Full BenchmarkDotNet log: {log.Path}");
if (smoke)
{
    return Smoke.Run(switcher, [.. rest], config, log, progress, clock, everything);
}

Console.WriteLine(full
    ? "// BenchmarkDotNet's default job, out of process: tens of minutes; progress below, iteration logs in the log file."
    : "// Short in-process job (2 warmups, 5 iterations of 100 ms per benchmark; one to two minutes for all); progress below, iteration logs in the log file.");
var runs = new List<IReadOnlyList<TargetResult>>();
for (int run = 1; run <= repeat; run++)
{
    if (repeat > 1)
    {
        Console.WriteLine();
        Console.WriteLine($"// Run {run} of {repeat}");
    }

    List<Summary> summaries;
    using (log.CaptureConsole())
    {
        summaries = [.. switcher.Run([.. rest], config)];
    }

    if (summaries.Sum(s => s.BenchmarksCases.Length) == 0)
    {
        Console.WriteLine("// No benchmark ran: the filter matched none (--list flat names them), or see the log.");
        return 1;
    }

    IReadOnlyList<TargetResult> targets = TargetReport.PrintTables(summaries, log.File);
    if (run == repeat && everything)
    {
        BurstLatency.Print();
    }

    TargetReport.PrintTargets(targets);
    runs.Add(targets);
}

TargetReport.PrintRepeats(runs);
Console.WriteLine();
if (progress.Failures.Count > 0)
{
    Console.WriteLine($"// {progress.Failures.Count} benchmark(s) FAILED: {string.Join("; ", progress.Failures)}");
}

Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"// Done in {clock.Elapsed.TotalMinutes:0.0} min; load average now {Machine.LoadAverage()}. Full BenchmarkDotNet log: {log.Path}"));
return progress.Failures.Count > 0 ? 1 : 0;

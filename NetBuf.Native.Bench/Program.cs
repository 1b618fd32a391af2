using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using NetBufNative.Bench;
using Perfolizer.Horology;

// Default: a short in-process run of every benchmark (one to two minutes on 2 cores) that prints
// the tables, issue 8's rows side by side, the metadata-layout table, the targets with their
// measured ratios and verdicts, and the burst latency percentiles. The multi-thread section is
// measured 3 times, interleaved, within that run (the 2-thread spread target).
// "--repeat N": the whole run N times in this process, then every target's ratio per run and its
// spread over the runs.
// Times are CPU time of the process (CpuTimeClock: the VM is shared, and time spent waiting for a
// core would otherwise land on whichever row ran while the machine was busiest); per pair over all
// threads it is the summed CPU time. "--wall": wall-clock time instead (the multi-thread rows are
// then wall time per pair over all threads, whose inverse is the aggregate throughput).
// "--full": BenchmarkDotNet's default, statistically rigorous out-of-process job (wall clock).
// Any other arguments go to BenchmarkDotNet as usual (e.g. --filter '*Bulk*').
// "soak [--seconds N] [--threads N]": not a benchmark; every operation mix at once (see Soak).
if (args.Length > 0 && args[0] == "soak")
{
    Environment.ExitCode = Soak.RunFromArguments(args);
    return;
}

bool full = args.Contains("--full");
bool wall = args.Contains("--wall") || !OperatingSystem.IsLinux();
int repeat = 1;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] is "--full" or "--wall")
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

bool everything = rest.Count == 0;
if (everything)
{
    rest = ["--filter", "*"];
}

IConfig config = (full
    ? DefaultConfig.Instance
    : DefaultConfig.Instance.AddJob(
        Job.ShortRun
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithClock(wall ? Chronometer.BestClock : CpuTimeClock.Instance)
            .WithId(wall ? "Short" : "ShortCpu")))
    .WithOrderer(RoundsFirstOrderer.Instance);

Machine.CpuTime = !full && !wall;
Machine.Clock = full ? "wall clock (out of process)" : wall ? "wall clock" : "process CPU time (summed over threads; --wall for wall clock)";
Machine.Print();
var runs = new List<IReadOnlyList<TargetResult>>();
for (int run = 1; run <= repeat; run++)
{
    if (repeat > 1)
    {
        Console.WriteLine($"// * Run {run} of {repeat} *");
    }

    var summaries = BenchmarkSwitcher.FromAssembly(typeof(SingleThreadBenchmarks).Assembly).Run([.. rest], config).ToList();
    runs.Add(TargetReport.Print(summaries));
}

TargetReport.PrintRepeats(runs);
if (everything)
{
    BurstLatency.Print();
}

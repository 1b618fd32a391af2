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
// "--full": BenchmarkDotNet's default, statistically rigorous out-of-process job.
// Any other arguments go to BenchmarkDotNet as usual (e.g. --filter '*Bulk*').
bool full = args.Contains("--full");
int repeat = 1;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--full")
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
            .WithId("Short")))
    .WithOrderer(RoundsFirstOrderer.Instance);

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

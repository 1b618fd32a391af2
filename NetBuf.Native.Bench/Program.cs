using BenchmarkDotNet.Configs;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using NetBufNative.Bench;

// Default: a short in-process run of every benchmark (about a minute on 2 cores) that prints the
// tables, the targets with their measured ratios, and the burst latency percentiles.
// "--full": BenchmarkDotNet's default, statistically rigorous out-of-process job.
// Any other arguments go to BenchmarkDotNet as usual (e.g. --filter '*Bulk*').
bool full = args.Contains("--full");
string[] rest = [.. args.Where(a => a != "--full")];
bool everything = rest.Length == 0;
if (everything)
{
    rest = ["--filter", "*"];
}

IConfig config = full
    ? DefaultConfig.Instance
    : DefaultConfig.Instance.AddJob(
        Job.ShortRun
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithId("Short"));

var summaries = BenchmarkSwitcher.FromAssembly(typeof(SingleThreadBenchmarks).Assembly).Run(rest, config).ToList();
TargetReport.Print(summaries);
if (everything)
{
    BurstLatency.Print();
}

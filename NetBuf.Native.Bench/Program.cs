using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using NetBufNative.Bench;

// Default: a short in-process run of every benchmark (about a minute) that prints the table.
// "--full": BenchmarkDotNet's default, statistically rigorous out-of-process job.
// Any other arguments go to BenchmarkDotNet as usual (e.g. --filter '*Alloc*' --job medium).
bool full = args.Contains("--full");
string[] rest = [.. args.Where(a => a != "--full")];
if (rest.Length == 0)
{
    rest = ["--filter", "*"];
}

IConfig config = full
    ? DefaultConfig.Instance
    : DefaultConfig.Instance.AddJob(
        Job.ShortRun
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(3)
            .WithIterationCount(5)
            .WithId("Short"));

BenchmarkSwitcher.FromAssembly(typeof(AllocFreeBenchmarks).Assembly).Run(rest, config);

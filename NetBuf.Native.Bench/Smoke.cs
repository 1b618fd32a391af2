using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NetBufNative.Bench;

/// <summary>
/// <c>--smoke</c>: every benchmark once with BenchmarkDotNet's Dry job in process (global set-up, one
/// invocation, clean-up: no statistics), then the report code over those results and the burst
/// latency section, their output sent to the log only. Seconds, not minutes; CI runs it so the
/// README's first command cannot rot unnoticed. Exits 1 if a benchmark threw or did not run, if
/// BenchmarkDotNet reported a validation error, or if the report code threw.
/// </summary>
internal static class Smoke
{
    public static int Run(BenchmarkSwitcher switcher, string[] args, IConfig config, RunLog log, Progress progress, Stopwatch clock, bool everything)
    {
        var problems = new List<string>();
        List<Summary> summaries = [];
        using (log.CaptureConsole())
        {
            try
            {
                summaries = [.. switcher.Run(args, config)];
                IReadOnlyList<TargetResult> targets = TargetReport.PrintTables(summaries, log.File);
                if (everything)
                {
                    BurstLatency.Print();
                }

                TargetReport.PrintTargets(targets);
            }
            catch (Exception e)
            {
                Console.WriteLine(e);
                problems.Add($"{e.GetType().Name}: {e.Message}");
            }
        }

        int cases = summaries.Sum(s => s.BenchmarksCases.Length);
        var failed = summaries
            .SelectMany(s => s.BenchmarksCases.Select(c => (Case: c, Report: s.Reports.FirstOrDefault(r => r.BenchmarkCase == c))))
            .Where(x => x.Report is null || !x.Report.Success)
            .Select(x => Progress.Name(x.Case))
            .ToList();
        if (cases == 0)
        {
            problems.Add("no benchmark ran");
        }

        if (failed.Count > 0)
        {
            problems.Add($"{failed.Count} benchmark(s) failed: {string.Join(", ", failed)}");
        }

        problems.AddRange(summaries.SelectMany(s => s.ValidationErrors).Where(e => e.IsCritical).Select(e => e.Message.Trim()));
        string elapsed = clock.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
        if (problems.Count == 0)
        {
            Console.WriteLine($"benchmark smoke: {cases} benchmarks ran once each, the report and burst sections ran, no exception ({elapsed} s)");
            return 0;
        }

        Console.WriteLine($"benchmark smoke FAILED ({elapsed} s): {string.Join("; ", problems)}");
        Console.WriteLine($"// The log has the exceptions: {log.Path}");
        return 1;
    }
}

using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.EventProcessors;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Validators;

namespace NetBufNative.Bench;

/// <summary>
/// BenchmarkDotNet's events turned into one progress line on the console while the benchmarks run
/// (the iteration logs go to the log file). On a terminal the line is rewritten in place for every
/// benchmark (which one, how many left, the time left at the pace so far) and erased at the end;
/// when the output is redirected (CI, a file) it prints one line per benchmark class instead, so a
/// captured run stays short. A benchmark that fails, and a validation error, are printed as they
/// happen, whatever the output.
/// </summary>
internal sealed class Progress(TextWriter screen, bool inPlace, Func<string?> lastException) : EventProcessor
{
    private readonly Stopwatch _clock = new();
    private int _total;
    private int _done;
    private int _width;

    /// <summary>Benchmarks that ran and failed (an exception, no result), with their display names.</summary>
    public List<string> Failures { get; } = [];

    /// <summary>Validation errors (critical or not).</summary>
    public List<string> ValidationErrors { get; } = [];

    /// <summary>Benchmarks that ran.</summary>
    public int Done => _done;

    public override void OnValidationError(ValidationError validationError)
    {
        string text = $"{(validationError.IsCritical ? "error" : "warning")}: {validationError.Message.Trim()}";
        ValidationErrors.Add(text);
        if (validationError.IsCritical)
        {
            Line(text);
        }
    }

    public override void OnStartBuildStage(IReadOnlyList<BuildPartition> partitions)
    {
        _total = partitions.Sum(p => p.Benchmarks.Length);
        _done = 0;
        _clock.Restart();
    }

    public override void OnStartRunBenchmarksInType(Type type, IReadOnlyList<BenchmarkCase> benchmarks)
    {
        if (!inPlace)
        {
            Line($"// {type.Name}: {benchmarks.Count} benchmark{(benchmarks.Count == 1 ? "" : "s")} ({_total - _done} of {_total} left{Remaining()})");
        }
    }

    public override void OnStartRunBenchmark(BenchmarkCase benchmarkCase)
    {
        _ = lastException(); // forget an earlier benchmark's
        if (!inPlace)
        {
            return;
        }

        string text = $"[{_done + 1}/{_total}] {Name(benchmarkCase)}: {(_done + 1 == _total ? "the last one" : $"{_total - _done - 1} left after it")}{Remaining()}";
        if (text.Length > 118)
        {
            text = text[..117] + "…";
        }

        screen.Write("\r" + text.PadRight(_width));
        _width = text.Length;
        screen.Flush();
    }

    public override void OnEndRunBenchmark(BenchmarkCase benchmarkCase, BenchmarkReport report)
    {
        _done++;
        if (!report.Success)
        {
            string reason = lastException() ?? (report.BuildResult.IsBuildSuccess ? "no result" : "build failed");
            Failures.Add($"{Name(benchmarkCase)}: {reason.Trim()}");
            Line($"FAILED {Name(benchmarkCase)}: {reason.Trim()} (details in the log)");
        }
    }

    public override void OnEndRunStage() => Erase();

    /// <summary>The benchmark as a person names it: class, method and parameters.</summary>
    public static string Name(BenchmarkCase benchmarkCase)
    {
        string parameters = benchmarkCase.HasParameters
            ? " (" + string.Join(", ", benchmarkCase.Parameters.Items.Select(p => $"{p.Name}={p.Value}")) + ")"
            : string.Empty;
        return $"{benchmarkCase.Descriptor.Type.Name}.{benchmarkCase.Descriptor.WorkloadMethod.Name}{parameters}";
    }

    private string Remaining()
    {
        if (_done == 0 || _done >= _total)
        {
            return string.Empty;
        }

        double seconds = _clock.Elapsed.TotalSeconds / _done * (_total - _done);
        return seconds < 60
            ? string.Create(CultureInfo.InvariantCulture, $", about {seconds:0} s to go")
            : string.Create(CultureInfo.InvariantCulture, $", about {seconds / 60:0.0} min to go");
    }

    private void Erase()
    {
        if (_width > 0)
        {
            screen.Write("\r" + new string(' ', _width) + "\r");
            screen.Flush();
            _width = 0;
        }
    }

    private void Line(string text)
    {
        Erase();
        screen.WriteLine(text);
        screen.Flush();
    }
}

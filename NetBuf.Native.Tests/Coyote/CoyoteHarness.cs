using Microsoft.Coyote;
using Microsoft.Coyote.SystematicTesting;
using NUnit.Framework;

namespace NetBufNative.CoyoteTests;

/// <summary>
/// Runs a scenario under Coyote's systematic testing engine: every task the scenario starts is
/// scheduled by Coyote, which explores a different interleaving of their Interlocked, Volatile
/// and Monitor operations in each iteration (Volatile accesses are scheduling points too: the
/// handshakes and checks the library builds on them are what is under test). A bug is reported with its reproducible trace, written
/// next to the test results and printed, and replayed once to show it reproduces.
/// </summary>
internal static class CoyoteHarness
{
    /// <summary>Steps per schedule before Coyote cuts it short: the scenarios finish in a few
    /// hundred; a spin that never ends (a lost wake-up) shows as a schedule that hits the bound.</summary>
    private const uint MaxSteps = 5_000;

    /// <summary>Priority change points per schedule for the PCT strategy. A bug of depth d (d - 1
    /// preemptions at the right steps) is found with probability at least 1/(n*k^(d-1)) per
    /// schedule (n tasks, k steps); more change points than the depth cost little. Tried on the
    /// put-back ABA bug: with 3 it took 201 schedules, with 10 it took 6.</summary>
    private const uint PriorityChanges = 10;

    /// <summary>Set NETBUF_COYOTE_SEED to explore other schedules than CI's fixed ones.</summary>
    private static uint? SeedOverride =>
        uint.TryParse(Environment.GetEnvironmentVariable("NETBUF_COYOTE_SEED"), out uint seed) ? seed : null;

    /// <summary>Explores <paramref name="iterations"/> schedules of <paramref name="scenario"/>
    /// from a fixed seed (so CI explores the same schedules every run).</summary>
    /// <returns>What was found: the bug reports and the trace of the first, or nothing.</returns>
    public static Exploration Explore(string name, Func<Task> scenario, uint iterations, uint seed = 1)
    {
        Configuration config = Configuration.Create()
            .WithTestingIterations(iterations)
            .WithRandomGeneratorSeed(SeedOverride ?? seed)
            .WithPrioritizationStrategy(isFair: false, priorityChangeBound: PriorityChanges)
            .WithMaxSchedulingSteps(MaxSteps)
            .WithVolatileOperationRaceCheckingEnabled(true)
            .WithSystematicFuzzingFallbackEnabled(false)
            .WithConsoleLoggingEnabled(false)
            .WithTelemetryEnabled(false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using TestingEngine engine = TestingEngine.Create(config, scenario);
        engine.Run();
        TestReport report = engine.TestReport;
        var result = new Exploration(
            name,
            report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths,
            report.NumOfFoundBugs,
            [.. report.BugReports],
            report.NumOfFoundBugs > 0 ? engine.ReproducibleTrace : null,
            clock.Elapsed);
        TestContext.Out.WriteLine(result.Summary);
        if (result.Trace is not null)
        {
            string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"coyote-{name}.trace");
            File.WriteAllText(path, result.Trace);
            TestContext.Out.WriteLine($"bug: {string.Join(" | ", result.Bugs)}");
            TestContext.Out.WriteLine($"replay with Configuration.WithReproducibleTrace(File.ReadAllText(\"{path}\")), or see the trace:");
            TestContext.Out.WriteLine(result.Trace);
            TestContext.AddTestAttachment(path, "Coyote reproducible trace");
        }

        return result;
    }

    /// <summary>Replays a trace: runs the one schedule it records.</summary>
    /// <returns>Whether the schedule hit the bug again.</returns>
    public static bool Replay(Func<Task> scenario, string trace)
    {
        Configuration config = Configuration.Create()
            .WithReproducibleTrace(trace)
            .WithConsoleLoggingEnabled(false)
            .WithTelemetryEnabled(false);
        using TestingEngine engine = TestingEngine.Create(config, scenario);
        engine.Run();
        return engine.TestReport.NumOfFoundBugs > 0;
    }

    /// <summary>Explores and asserts that no bug was found.</summary>
    public static void AssertNoBug(string name, Func<Task> scenario, uint iterations)
    {
        Exploration result = Explore(name, scenario, iterations);
        Assert.That(result.BugCount, Is.Zero, () => $"{result.Summary}: {string.Join(" | ", result.Bugs)}\n{result.Trace}");
    }

    /// <summary>Explores and asserts that a bug was found, and that its trace replays it.</summary>
    public static void AssertFindsBug(string name, Func<Task> scenario, uint iterations)
    {
        Exploration result = Explore(name, scenario, iterations);
        Assert.That(result.BugCount, Is.GreaterThan(0), () => $"{result.Summary}: the put-back bug was not found");
        Assert.That(Replay(scenario, result.Trace!), Is.True, "the trace did not reproduce the bug");
    }
}

/// <summary>The outcome of one exploration.</summary>
internal sealed record Exploration(string Name, int Schedules, int BugCount, string[] Bugs, string? Trace, TimeSpan Elapsed)
{
    /// <summary>One line for the test output.</summary>
    public string Summary =>
        $"coyote {Name}: {Schedules} schedules in {Elapsed.TotalSeconds:F1} s, {BugCount} bug(s)";
}

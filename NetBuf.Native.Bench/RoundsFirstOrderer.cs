using System.Collections.Immutable;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Running;

namespace NetBufNative.Bench;

/// <summary>
/// Runs the cases of a class with a <c>Round</c> parameter round by round (every row of round 1,
/// then every row of round 2, ...), so that the rounds are interleaved measurements of the same
/// section rather than three measurements of one row back to back. Summaries keep the default order.
/// </summary>
internal sealed class RoundsFirstOrderer : DefaultOrderer
{
    public static new readonly RoundsFirstOrderer Instance = new();

    public override IEnumerable<BenchmarkCase> GetExecutionOrder(
        ImmutableArray<BenchmarkCase> benchmarksCase,
        IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
        base.GetExecutionOrder(benchmarksCase, order).OrderBy(RoundOf); // OrderBy is stable.

    /// <summary>The case's round, or 0 for a class without rounds.</summary>
    public static int RoundOf(BenchmarkCase benchmarkCase) =>
        benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == nameof(MultiThreadBenchmarks.Round))?.Value is int round ? round : 0;
}

using System.Globalization;
using BenchmarkDotNet.Reports;

namespace NetBufNative.Bench;

/// <summary>
/// Prints the performance targets (issue 3) with the ratios measured in this run, so anyone can
/// check them with one command. A target missed is printed as missed, with its numbers.
/// </summary>
internal static class TargetReport
{
    public static void Print(IEnumerable<Summary> summaries)
    {
        var reports = summaries.SelectMany(s => s.Reports).Where(r => r.ResultStatistics is not null).ToList();
        if (reports.Count == 0)
        {
            return;
        }

        double? Mean(string type, string method, int? threads = null) =>
            reports.FirstOrDefault(r =>
                r.BenchmarkCase.Descriptor.Type.Name == type &&
                r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method &&
                (threads is null || Equals(r.BenchmarkCase.Parameters["Threads"], threads)))?.ResultStatistics!.Mean;

        var rows = new List<(string Target, string Measured, bool? Met)>();
        void Ratio(string target, double? value, double? baseline, double limit, bool atMost = true)
        {
            if (value is null || baseline is null)
            {
                return;
            }

            double ratio = value.Value / baseline.Value;
            rows.Add((target, ratio.ToString("0.00", CultureInfo.InvariantCulture) + "x", atMost ? ratio <= limit : ratio >= limit));
        }

        const string St = nameof(SingleThreadBenchmarks);
        double? arrayPool = Mean(St, nameof(SingleThreadBenchmarks.ArrayPoolShared));
        double? cached = Mean(St, nameof(SingleThreadBenchmarks.NetBufPoolCached));
        double? uncached = Mean(St, nameof(SingleThreadBenchmarks.NetBufPoolUncached));
        double? locked = Mean(St, nameof(SingleThreadBenchmarks.LockedFreeListPair));
        Ratio("1 thread, thread cache: <= 0.60x ArrayPool<byte>.Shared", cached, arrayPool, 0.60);
        Ratio("1 thread, no cache: <= 1.00x ArrayPool<byte>.Shared", uncached, arrayPool, 1.00);
        Ratio("1 thread, no cache: >= 2.5x faster than the lock-guarded list", locked, uncached, 2.5, atMost: false);

        const string Mt = nameof(MultiThreadBenchmarks);
        double? cached2 = Mean(Mt, nameof(MultiThreadBenchmarks.NetBufPoolCached), 2);
        double? cached8 = Mean(Mt, nameof(MultiThreadBenchmarks.NetBufPoolCached), 8);
        Ratio("2 threads, thread cache: <= 0.70x ArrayPool<byte>.Shared", cached2, Mean(Mt, nameof(MultiThreadBenchmarks.ArrayPoolShared), 2), 0.70);
        Ratio("8 threads, thread cache: time per pair <= 2x the 2-thread time", cached8, cached2, 2.0);

        const string Bulk = nameof(BulkBenchmarks);
        double? single = Mean(Bulk, nameof(BulkBenchmarks.SinglePairs));
        Ratio("bulk of 32 NetBufPtr: per buffer <= 0.25x a single pair", Mean(Bulk, nameof(BulkBenchmarks.BulkPointers)), single, 0.25);
        Ratio("bulk of 32 NetBufBox: per buffer <= 0.25x a single pair", Mean(Bulk, nameof(BulkBenchmarks.BulkBoxes)), single, 0.25);

        var netBufRows = reports.Where(r =>
            r.BenchmarkCase.Descriptor.WorkloadMethod.Name.Contains("NetBuf", StringComparison.Ordinal) ||
            r.BenchmarkCase.Descriptor.Type.Name == Bulk).ToList();
        if (netBufRows.Count > 0)
        {
            long worst = netBufRows.Max(r => r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase) ?? 0);
            rows.Add(("0 bytes allocated per operation on every NetBuf path", $"{worst} B max over {netBufRows.Count} rows", worst == 0));
        }

        var throughput = reports.Where(r => r.BenchmarkCase.Descriptor.Type.Name == Mt).ToList();
        if (throughput.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("// * Aggregate throughput on one shared pool (all threads together) *");
            Console.WriteLine("| Method | Threads | Time per pair | Pairs per second |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var r in throughput)
            {
                double ns = r.ResultStatistics!.Mean;
                Console.WriteLine(
                    $"| {r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo} | {r.BenchmarkCase.Parameters["Threads"]} | " +
                    $"{ns.ToString("0.0", CultureInfo.InvariantCulture)} ns | {(1e9 / ns / 1e6).ToString("0.0", CultureInfo.InvariantCulture)} M |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("// * Targets (ratios measured in this run) *");
        Console.WriteLine("| Target | Measured | Verdict |");
        Console.WriteLine("|---|---:|---|");
        foreach (var (target, measured, met) in rows)
        {
            Console.WriteLine($"| {target} | {measured} | {(met == true ? "met" : "MISSED")} |");
        }
    }
}

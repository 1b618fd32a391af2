using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;

namespace NetBufNative.Bench;

/// <summary>One performance goal with the ratio measured in one run.</summary>
/// <param name="Target">What is measured, and the limit.</param>
/// <param name="Ratio">The measured ratio (<see langword="null"/> when the rows were not run).</param>
/// <param name="Limit">The target's limit.</param>
/// <param name="Detail">How the ratio was obtained (the rounds, the worst row).</param>
/// <param name="Bytes">The value is a byte count, not a ratio.</param>
internal sealed record TargetResult(string Target, double? Ratio, double Limit, string Detail = "", bool Bytes = false)
{
    /// <summary>Whether the ratio is at most the limit.</summary>
    public bool Met => Ratio is double ratio && ratio <= Limit;

    /// <summary>The ratio as printed.</summary>
    public string Measured =>
        Ratio is not double ratio ? "not run" :
        Bytes ? ratio.ToString("0", CultureInfo.InvariantCulture) + " B" :
        TargetReport.Format(ratio) + "x";
}

/// <summary>
/// Prints the rows the performance goals name side by side (ratios to baselines measured in the same run),
/// the metadata-layout evidence as its own table, and every goal with its measured
/// ratio and verdict, so anyone can check them with one command. A missed target is printed as
/// missed, with its numbers. The machine line comes with every table.
/// </summary>
internal static class TargetReport
{
    private const string St = nameof(SingleThreadBenchmarks);
    private const string Bulk = nameof(BulkBenchmarks);
    private const string Mt = nameof(MultiThreadBenchmarks);
    private const string Layout = nameof(SlotLayoutBenchmarks);
    private const string Contention = nameof(ContentionBenchmarks);
    private const string Used = nameof(UsedBufferBenchmarks);
    private const string Loopback = nameof(LoopbackCycleBenchmarks);

    /// <summary>Rows whose allocations belong to the BCL type measured, not to a NetBuf path, and the
    /// diagnostic mode's stack traces (captured by design, one per alloc and free).</summary>
    private static readonly string[] AllocatingBaselines =
        [nameof(SingleThreadBenchmarks.MemoryPoolShared), nameof(SingleThreadBenchmarks.ConcurrentStackPair), nameof(DiagnosticsBenchmarks.Traced)];

    /// <summary>The benchmark classes in the order their tables are printed, with each table's title.</summary>
    private static readonly (string Type, string Title)[] Classes =
    [
        (St, "Alloc+free pair, one thread, 2048-byte buffers (time per pair)"),
        (Bulk, "Batches of 32 against single pairs of the same handle, one pool (time per buffer)"),
        (Mt, ""),
        (nameof(UsedBufferBenchmarks), "A used buffer: alloc, Append(64) and fill, Prepend(14) and fill, read the frame's length, free (per buffer over all threads)"),
        (nameof(LoopbackCycleBenchmarks), "The loopback cycle: alloc, transmit, receive, re-post, recycle through the driver core (per frame)"),
        (Contention, "The shared list under contention: no cache and the lock-guarded list, one pool"),
        (Layout, ""),
        (nameof(PacketCycleBenchmarks), "A packet's whole cycle: alloc, append, prepend, to pointer and back, read, free (per packet)"),
        (nameof(SpanAccessBenchmarks), "A packet span: checked NetBuf.Packet against a raw pointer (per access)"),
        (nameof(DiagnosticsBenchmarks), "The diagnostic mode's cost, and none when it is off (per pair)"),
    ];

    /// <summary>
    /// Prints one table per benchmark class that ran (Method, parameters, Mean, Ratio to the class's
    /// baseline, Allocated; the multi-thread and layout classes as their rounds tables) to the console
    /// and the log, and the derived tables only the log keeps (the goals' rows side by side, aggregate
    /// throughput); returns the targets of the run.
    /// </summary>
    public static IReadOnlyList<TargetResult> PrintTables(IReadOnlyList<Summary> summaries, TextWriter logOnly)
    {
        var reports = summaries.SelectMany(s => s.Reports).Where(r => r.ResultStatistics is not null).ToList();
        if (reports.Count == 0)
        {
            return [];
        }

        var run = new Run(reports);
        foreach (Summary summary in summaries.OrderBy(ClassRank))
        {
            var types = summary.BenchmarksCases.Select(c => c.Descriptor.Type.Name).Distinct().ToList();
            string title = types.Count == 1
                ? Classes.FirstOrDefault(c => c.Type == types[0]).Title ?? types[0]
                : string.Join(", ", types);
            bool printed = types.Count == 1 && types[0] switch
            {
                Mt => PrintRounds(run),
                Layout => PrintLayout(run),
                _ => false,
            };
            if (!printed)
            {
                PrintClassTable(summary, string.IsNullOrEmpty(title) ? types[0] : title);
            }
        }

        TextWriter console = Console.Out;
        Console.SetOut(logOnly);
        try
        {
            PrintRows(run);
            PrintThroughput(run);
        }
        finally
        {
            Console.SetOut(console);
        }

        return Targets(run);
    }

    /// <summary>Prints the targets whose rows ran, with their verdicts, and names the ones that did not run.</summary>
    public static void PrintTargets(IReadOnlyList<TargetResult> targets)
    {
        var ran = targets.Where(t => t.Ratio is not null).ToList();
        var notRun = targets.Where(t => t.Ratio is null).ToList();
        if (ran.Count == 0)
        {
            Console.WriteLine();
            Console.WriteLine("// No performance goal could be checked: their rows did not run (see --filter).");
            return;
        }

        Header($"Performance goals: ratios measured in this run ({ran.Count(t => t.Met)} of {ran.Count} met)");
        Console.WriteLine("// A MISSED goal is one the project is still working towards, not a failure of this build (the exit code stays 0).");
        bool how = ran.Any(t => t.Detail.Length > 0);
        var table = how ? new TextTable("Target", ">Measured", "Verdict", "How") : new TextTable("Target", ">Measured", "Verdict");
        foreach (TargetResult t in ran)
        {
            table.Add(t.Target, t.Measured, t.Met ? "met" : "MISSED", t.Detail);
        }

        table.Print(Console.Out);
        if (notRun.Count > 0)
        {
            Console.WriteLine($"Not run (their rows were filtered out), {notRun.Count} target{(notRun.Count == 1 ? "" : "s")}:");
            foreach (TargetResult t in notRun)
            {
                Console.WriteLine($"- {t.Target}");
            }
        }
    }

    /// <summary>Prints the targets of several runs side by side with each one's spread (max / min).</summary>
    public static void PrintRepeats(IReadOnlyList<IReadOnlyList<TargetResult>> runs)
    {
        if (runs.Count < 2 || runs[0].Count == 0)
        {
            return;
        }

        Header($"Targets over {runs.Count} runs of this process (spread = largest / smallest ratio)");
        var table = new TextTable(["Target", .. Enumerable.Range(1, runs.Count).Select(i => $">Run {i}"), ">Spread", ">Met in"]);
        foreach (string target in runs[0].Select(t => t.Target))
        {
            var results = runs.Select(r => r.FirstOrDefault(t => t.Target == target)).ToList();
            var ratios = results.Where(t => t?.Ratio is not null).Select(t => t!.Ratio!.Value).ToList();
            if (ratios.Count == 0)
            {
                continue;
            }

            string spread = ratios.Count > 1 && ratios.Min() > 0 && results[0]?.Bytes != true ? Format(ratios.Max() / ratios.Min()) + "x" : "-";
            table.Add([target, .. results.Select(t => t?.Measured ?? "-"), spread, $"{results.Count(t => t?.Met == true)}/{runs.Count}"]);
        }

        table.Print(Console.Out);
    }

    private static int ClassRank(Summary summary)
    {
        string type = summary.BenchmarksCases.Select(c => c.Descriptor.Type.Name).FirstOrDefault() ?? string.Empty;
        int index = Array.FindIndex(Classes, c => c.Type == type);
        return index < 0 ? Classes.Length : index;
    }

    /// <summary>
    /// BenchmarkDotNet's own summary table of one class (its columns, formatted by the config's summary
    /// style), cut to what a reader compares: the method, the parameters, Mean, Ratio and Allocated.
    /// The full table, with errors, deviations and GC counts, is in the log.
    /// </summary>
    private static void PrintClassTable(Summary summary, string title)
    {
        SummaryTable full = summary.Table;
        if (full.FullContent.Length == 0)
        {
            return;
        }

        var columns = full.Columns
            .Select((column, index) => (column, index))
            .Where(c => c.column.NeedToShow && (
                c.column.OriginalColumn.Category == ColumnCategory.Params ||
                c.column.Header is "Method" or "Mean" or "Ratio" or "Allocated"))
            .ToList();
        Header(title);
        var table = new TextTable([.. columns.Select(c =>
            (c.column.Justify == SummaryTable.SummaryTableColumn.TextJustification.Right ? ">" : "") + c.column.Header)]);
        foreach (string[] row in full.FullContent)
        {
            // BenchmarkDotNet quotes a description that has spaces: 'NetBufPool, thread cache'.
            table.Add([.. columns.Select(c => c.column.Header == "Method" && row[c.index].Length > 1 && row[c.index].StartsWith('\'') && row[c.index].EndsWith('\'')
                ? row[c.index][1..^1]
                : row[c.index])]);
        }

        table.Print(Console.Out);
    }

    internal static string Format(double value) => value.ToString(value >= 100 ? "0" : "0.00", CultureInfo.InvariantCulture);

    private static string Ns(double? ns) => ns is double v ? v.ToString(v >= 100 ? "0" : "0.00", CultureInfo.InvariantCulture) + " ns" : "-";

    private static string X(double? value, double? baseline) =>
        value is double v && baseline is double b && b > 0 ? Format(v / b) + "x" : "-";

    private static string PerPair() =>
        Machine.CpuTime ? "CPU time per pair, summed over all threads" : "wall time per pair over all threads";

    private static void Header(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"// {title}");
    }

    private static void PrintRows(Run run)
    {
        Header("The goals' rows, one thread, 2048-byte buffers (time per pair or per buffer)");
        Console.WriteLine("| Row | Time | Ratio | Baseline | Allocated |");
        Console.WriteLine("|---|---:|---:|---|---:|");
        const string ArrayPool = "ArrayPool<byte>.Shared pair";
        const string AllocPair = "pool.Alloc() pair (same pool)";
        void Row(string name, BenchmarkReport? report, BenchmarkReport? baseline, string baselineName)
        {
            if (report is null)
            {
                return;
            }

            Console.WriteLine(
                $"| {name} | {Ns(Run.Mean(report))} | {(baseline is null ? "-" : X(Run.Mean(report), Run.Mean(baseline)))} | " +
                $"{(baseline is null ? "-" : baselineName)} | {Run.Allocated(report)} B |");
        }

        BenchmarkReport? arrayPool = run.Find(St, nameof(SingleThreadBenchmarks.ArrayPoolShared));
        BenchmarkReport? twoCas = run.Find(St, nameof(SingleThreadBenchmarks.TwoCompareExchanges));
        BenchmarkReport? allocPair = run.Find(Bulk, nameof(BulkBenchmarks.SinglePairs));
        BenchmarkReport? ptrPair = run.Find(Bulk, nameof(BulkBenchmarks.PointerPairs));
        BenchmarkReport? boxPair = run.Find(Bulk, nameof(BulkBenchmarks.BoxPairs));
        Row("ArrayPool<byte>.Shared Rent+Return pair", arrayPool, arrayPool, ArrayPool);
        Row("pool.Alloc()+Dispose pair", run.Find(St, nameof(SingleThreadBenchmarks.NetBufPoolCached)), arrayPool, ArrayPool);
        Row("worker.Alloc()+Dispose pair (worker opened once)", run.Find(St, nameof(SingleThreadBenchmarks.NetBufWorkerCached)), arrayPool, ArrayPool);
        Row("NetBufBox AllocBoxed()+Dispose pair", run.Find(St, nameof(SingleThreadBenchmarks.NetBufBoxCached)), arrayPool, ArrayPool);
        Row("two CAS on one long (floor without a cache)", twoCas, arrayPool, ArrayPool);
        Row("pool.Alloc()+Dispose pair, no cache", run.Find(St, nameof(SingleThreadBenchmarks.NetBufPoolUncached)), twoCas, "two-CAS floor");
        Row("pool.Alloc()+Dispose pair (bulk pool)", allocPair, arrayPool, ArrayPool);
        Row("worker.AllocBatch(32)+Dispose, per buffer", run.Find(Bulk, nameof(BulkBenchmarks.WorkerBatch)), allocPair, AllocPair);
        Row("NetBufPtr single pair: AllocBoxed().IntoBufPtr()+FromBufPtr().Dispose()", ptrPair, allocPair, AllocPair);
        Row("NetBufPtr TryAllocBulk+FreeBulk of 32, per buffer", run.Find(Bulk, nameof(BulkBenchmarks.BulkPointers)), ptrPair, "NetBufPtr single pair");
        Row("NetBufBox single pair: AllocBoxed()+Dispose", boxPair, allocPair, AllocPair);
        Row("NetBufBox TryAllocBulk+FreeBulk of 32, per buffer", run.Find(Bulk, nameof(BulkBenchmarks.BulkBoxes)), boxPair, "NetBufBox single pair");
    }

    private static bool PrintRounds(Run run)
    {
        if (run.Find(Mt, nameof(MultiThreadBenchmarks.ArrayPoolShared), 2, 1) is null)
        {
            return false;
        }

        Header($"2 and 8 threads on one shared pool, {MultiThreadBenchmarks.Rounds} interleaved rounds: {PerPair()}");
        var table = new TextTable(">Threads", ">Round", ">ArrayPool<byte>.Shared", ">pool.Alloc() pair", ">Ratio", ">worker pair", ">Ratio", ">Allocated (max)");
        foreach (int threads in new[] { 2, 8 })
        {
            for (int round = 1; round <= MultiThreadBenchmarks.Rounds; round++)
            {
                BenchmarkReport? ap = run.Find(Mt, nameof(MultiThreadBenchmarks.ArrayPoolShared), threads, round);
                BenchmarkReport? alloc = run.Find(Mt, nameof(MultiThreadBenchmarks.NetBufPoolCached), threads, round);
                BenchmarkReport? worker = run.Find(Mt, nameof(MultiThreadBenchmarks.NetBufWorkerCached), threads, round);
                if (ap is null && alloc is null && worker is null)
                {
                    continue;
                }

                long allocated = new[] { ap, alloc, worker }.Max(r => r is null ? 0 : Run.Allocated(r));
                table.Add(
                    Text(threads), Text(round), Ns(Run.Mean(ap)), Ns(Run.Mean(alloc)), X(Run.Mean(alloc), Run.Mean(ap)),
                    Ns(Run.Mean(worker)), X(Run.Mean(worker), Run.Mean(ap)), $"{allocated} B");
            }
        }

        table.Print(Console.Out);
        return true;
    }

    private static bool PrintLayout(Run run)
    {
        const string Method = nameof(SlotLayoutBenchmarks.WorkerPairs);
        if (run.Find(Layout, Method, 2, 1, stride: 64) is null)
        {
            return false;
        }

        int[] strides = [64, 32, 128];
        Header($"Metadata layout: worker pairs on threads whose hot buffers are ADJACENT slots (thread i uses buffer i): {PerPair()}");
        Console.WriteLine(Machine.CpuTime
            ? "Rounds interleaved; each stride against 64 B in the same round; 'Core time': the median over the 1-thread worker pair (1.00x: the threads cost each other nothing)."
            : "Rounds interleaved; each stride against 64 B in the same round; 'Core time': the median x min(threads, cores) over the 1-thread worker pair (1.00x: the threads cost each other nothing).");
        var table = new TextTable([">Threads", ">Slot bytes", .. Enumerable.Range(1, MultiThreadBenchmarks.Rounds).Select(r => $">Round {r}"), ">vs 64 B (median)", ">Core time", ">Allocated (max)"]);
        double? one = Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.NetBufWorkerCached)));
        foreach (int threads in new[] { 2, 8 })
        {
            int busy = Machine.CpuTime ? 1 : Math.Min(threads, Environment.ProcessorCount);
            foreach (int stride in strides)
            {
                var rounds = Enumerable.Range(1, MultiThreadBenchmarks.Rounds).Select(round => run.Find(Layout, Method, threads, round, stride)).ToList();
                if (rounds.All(r => r is null))
                {
                    continue;
                }

                var vs64 = Enumerable.Range(1, MultiThreadBenchmarks.Rounds)
                    .Select(round => (Value: Run.Mean(run.Find(Layout, Method, threads, round, stride)), Base: Run.Mean(run.Find(Layout, Method, threads, round, 64))))
                    .Where(p => p.Value is not null && p.Base is not null)
                    .Select(p => p.Value!.Value / p.Base!.Value)
                    .ToList();
                var means = rounds.Where(r => r is not null).Select(r => Run.Mean(r)!.Value).ToList();
                long allocated = rounds.Max(r => r is null ? 0 : Run.Allocated(r));
                table.Add([
                    Text(threads), Text(stride), .. rounds.Select(r => Ns(Run.Mean(r))),
                    vs64.Count == 0 ? "-" : Format(Median(vs64)) + "x",
                    means.Count == 0 ? "-" : X(Median(means) * busy, one),
                    $"{allocated} B"]);
            }
        }

        table.Print(Console.Out);
        return true;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void PrintThroughput(Run run)
    {
        var rows = run.Reports
            .Where(r => r.BenchmarkCase.Descriptor.Type.Name is Mt or Contention)
            .GroupBy(r => (Name: r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''), Threads: (int)r.BenchmarkCase.Parameters["Threads"]))
            .OrderBy(g => g.Key.Threads)
            .ToList();
        if (rows.Count == 0)
        {
            return;
        }

        Header($"Aggregate throughput on one shared pool (all threads together; median over the rounds): {PerPair()}");
        Console.WriteLine($"| Method | Threads | Time per pair | Pairs per {(Machine.CpuTime ? "CPU-second" : "second")} |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var group in rows)
        {
            double ns = Median(group.Select(r => r.ResultStatistics!.Mean));
            Console.WriteLine(
                $"| {group.Key.Name} | {group.Key.Threads} | {Ns(ns)} | {(1e9 / ns / 1e6).ToString("0.0", CultureInfo.InvariantCulture)} M |");
        }
    }

    private static List<TargetResult> Targets(Run run)
    {
        var targets = new List<TargetResult>();
        void Add(string target, double? value, double? baseline, double limit, string detail = "") =>
            targets.Add(new TargetResult(target, value is double v && baseline is double b && b > 0 ? v / b : null, limit, detail));

        double? arrayPool = Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.ArrayPoolShared)));
        Add("worker pair, 1 thread: <= 0.60x ArrayPool", Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.NetBufWorkerCached))), arrayPool, 0.60);

        // Per round: the ratio to ArrayPool measured in that round; the target takes the median.
        List<double> RoundRatios(string method, int threads) =>
            [.. Enumerable.Range(1, MultiThreadBenchmarks.Rounds)
                .Select(round => (Value: Run.Mean(run.Find(Mt, method, threads, round)), Base: Run.Mean(run.Find(Mt, nameof(MultiThreadBenchmarks.ArrayPoolShared), threads, round))))
                .Where(p => p.Value is not null && p.Base is not null)
                .Select(p => p.Value!.Value / p.Base!.Value)];
        void AddRounds(string target, List<double> ratios, double limit) =>
            targets.Add(new TargetResult(
                target,
                ratios.Count == 0 ? null : Median(ratios),
                limit,
                ratios.Count == 0 ? string.Empty : $"median of rounds {string.Join(", ", ratios.Select(r => Format(r) + "x"))}"));

        List<double> worker2 = RoundRatios(nameof(MultiThreadBenchmarks.NetBufWorkerCached), 2);
        AddRounds("worker pair, 2 threads on one shared pool: <= 0.65x ArrayPool", worker2, 0.65);
        targets.Add(new TargetResult(
            $"worker pair, 2 threads: spread of the ratio over {MultiThreadBenchmarks.Rounds} interleaved rounds <= 1.3x",
            worker2.Count > 1 ? worker2.Max() / worker2.Min() : null,
            1.3,
            "largest / smallest round"));
        Add("pool.Alloc() pair, 1 thread: <= 1.1x ArrayPool", Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.NetBufPoolCached))), arrayPool, 1.1);
        AddRounds("pool.Alloc() pair, 2 threads on one shared pool: <= 1.1x ArrayPool", RoundRatios(nameof(MultiThreadBenchmarks.NetBufPoolCached), 2), 1.1);

        Add(
            "worker.AllocBatch(32)+Dispose, per buffer: <= 0.35x a pool.Alloc() pair",
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.WorkerBatch))),
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.SinglePairs))),
            0.35);
        Add(
            "NetBufPtr bulk of 32, per buffer: <= 1.3x a single NetBufPtr pair",
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.BulkPointers))),
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.PointerPairs))),
            1.3);
        Add(
            "NetBufBox bulk of 32, per buffer: <= 1.3x a single NetBufBox pair",
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.BulkBoxes))),
            Run.Mean(run.Find(Bulk, nameof(BulkBenchmarks.BoxPairs))),
            1.3);
        Add(
            "no cache pair, 1 thread: <= 1.3x the two-CAS floor",
            Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.NetBufPoolUncached))),
            Run.Mean(run.Find(St, nameof(SingleThreadBenchmarks.TwoCompareExchanges))),
            1.3);

        // 8 threads against 2, per round (both measured in the same round), then the median.
        foreach ((string method, string name) in new[]
        {
            (nameof(MultiThreadBenchmarks.NetBufWorkerCached), "worker pair"),
            (nameof(MultiThreadBenchmarks.NetBufPoolCached), "pool.Alloc() pair"),
        })
        {
            List<double> ratios = [.. Enumerable.Range(1, MultiThreadBenchmarks.Rounds)
                .Select(round => (Eight: Run.Mean(run.Find(Mt, method, 8, round)), Two: Run.Mean(run.Find(Mt, method, 2, round))))
                .Where(p => p.Eight is not null && p.Two is not null)
                .Select(p => p.Eight!.Value / p.Two!.Value)];
            AddRounds($"{name}, 8 threads on one shared pool: time per pair <= 1.5x the 2-thread time", ratios, 1.5);
        }

        // A used buffer against ArrayPool + spans doing the same work, per round, then the median.
        List<double> UsedRatios(int threads) =>
            [.. Enumerable.Range(1, MultiThreadBenchmarks.Rounds)
                .Select(round => (Value: Run.Mean(run.Find(Used, nameof(UsedBufferBenchmarks.WorkerUsed), threads, round)),
                    Base: Run.Mean(run.Find(Used, nameof(UsedBufferBenchmarks.ArrayPoolUsed), threads, round))))
                .Where(p => p.Value is not null && p.Base is not null)
                .Select(p => p.Value!.Value / p.Base!.Value)];
        AddRounds("used buffer (worker: Append, Prepend, PacketWithHeader), 1 thread: <= 1.0x ArrayPool + spans", UsedRatios(1), 1.0);
        AddRounds("used buffer, 2 threads on one shared pool: <= 1.0x ArrayPool + spans", UsedRatios(2), 1.0);

        List<double> loopback = [.. Enumerable.Range(1, MultiThreadBenchmarks.Rounds)
            .Select(round => (Value: Run.Mean(run.Find(Loopback, nameof(LoopbackCycleBenchmarks.Cycle), round: round)),
                Base: Run.Mean(run.Find(Loopback, nameof(LoopbackCycleBenchmarks.CachedPair), round: round))))
            .Where(p => p.Value is not null && p.Base is not null)
            .Select(p => p.Value!.Value / p.Base!.Value)];
        AddRounds("loopback cycle (alloc, transmit, receive, re-post, recycle): <= 3x a pool.Alloc() pair", loopback, 3.0);

        var checkedRows = run.Reports
            .Where(r => !AllocatingBaselines.Contains(r.BenchmarkCase.Descriptor.WorkloadMethod.Name))
            .ToList();
        if (checkedRows.Count > 0)
        {
            BenchmarkReport worst = checkedRows.MaxBy(Run.Allocated)!;
            long bytes = Run.Allocated(worst);
            targets.Add(new TargetResult(
                $"every path: 0 B allocated per operation ({checkedRows.Count} rows; not MemoryPool<byte>, ConcurrentStack or diagnostic stack traces, which allocate by design)",
                bytes,
                0,
                bytes == 0 ? string.Empty : $"worst: {Progress.Name(worst.BenchmarkCase)}",
                Bytes: true));
        }

        return targets;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The reports of one run, looked up by class, method and parameters.</summary>
    private sealed class Run(List<BenchmarkReport> reports)
    {
        public List<BenchmarkReport> Reports { get; } = reports;

        public static double? Mean(BenchmarkReport? report) => report?.ResultStatistics?.Mean;

        public static long Allocated(BenchmarkReport report) =>
            report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;

        public BenchmarkReport? Find(string type, string method, int? threads = null, int? round = null, int? stride = null) =>
            Reports.FirstOrDefault(r =>
                r.BenchmarkCase.Descriptor.Type.Name == type &&
                r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method &&
                Matches(r, nameof(MultiThreadBenchmarks.Threads), threads) &&
                Matches(r, nameof(MultiThreadBenchmarks.Round), round) &&
                Matches(r, nameof(SlotLayoutBenchmarks.SlotStride), stride));

        private static bool Matches(BenchmarkReport report, string parameter, int? value) =>
            value is null || Equals(report.BenchmarkCase.Parameters[parameter], value);
    }
}

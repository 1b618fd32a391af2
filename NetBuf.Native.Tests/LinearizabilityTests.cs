using System.Diagnostics;
using System.Numerics;
using System.Text;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Linearizability: small pools (2 to 8 buffers) driven by 2 to 4 threads at once with random
/// operation mixes (allocate, dispose, lend, restore, free in bulk, count), where the threads
/// share their handles, so copies of one box or pointer race. Every call and return is stamped
/// from one global counter; the history is then checked against the sequential model of the pool
/// (which buffers are free, which handles are current; a count may miss returns still running):
/// there must be an order of the operations,
/// consistent with real time (an operation that returned before another was called comes first),
/// in which every result is what the model gives. The search is Wing and Gong's, with the states
/// already explored remembered (Lowe), so a history of 24 operations is checked at once.
/// </summary>
[NonParallelizable]
public sealed class LinearizabilityTests
{
    /// <summary>Histories per configuration: each is a new pool and new threads, about a millisecond
    /// each, so the whole test costs a few seconds while covering thousands of interleavings.</summary>
    private static readonly int Histories = StressBudget.Operations(400);

    /// <summary>Operations per thread: 4 threads x 6 = 24 operations, which the memoized search checks
    /// in microseconds; much longer histories make a failure harder to read.</summary>
    private const int OperationsPerThread = 6;

    private enum Kind
    {
        AllocBoxed,
        Dispose,
        Lend,
        Restore,
        FreeBulk,
        Available,
    }

    [TestCase(2, 2, 0)]
    [TestCase(2, 4, 0)]
    [TestCase(4, 3, 0)]
    [TestCase(8, 4, 0)]
    [TestCase(4, 2, 4)]
    [TestCase(8, 4, 4)]
    public void Parallel_histories_are_linearizable(int capacity, int threads, int cacheSize)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int checkedOps = 0;
        for (int history = 0; history < Histories; history++)
        {
            int historySeed = random.Next();
            List<Op> ops = RunHistory(capacity, threads, cacheSize, historySeed, out NetBufPool pool);
            using (pool)
            {
                string? failure = Check(ops, capacity, countIsExact: cacheSize == 0);
                if (failure is not null)
                {
                    Assert.Fail($"history {history} (seed {historySeed}; capacity {capacity}, {threads} threads, cache {cacheSize}) is not linearizable: {failure}\n{Describe(ops)}");
                }
            }

            checkedOps += ops.Count;
        }

        TestContext.Out.WriteLine($"{Histories} histories, {checkedOps} operations, all linearizable (seed {seed})");
    }

    [Test]
    public void The_checker_rejects_a_history_that_is_not_linearizable()
    {
        // Two threads dispose the same box and both succeed: no order of the two explains that.
        var ops = new List<Op>
        {
            new(0, Kind.AllocBoxed, -1, Ok: true, Index: 0, Created: 0, Value: 0) { Call = 1, Return = 2 },
            new(0, Kind.Dispose, 0, Ok: true, Index: -1, Created: -1, Value: 0) { Call = 3, Return = 6 },
            new(1, Kind.Dispose, 0, Ok: true, Index: -1, Created: -1, Value: 0) { Call = 4, Return = 5 },
        };
        Assert.That(Check(ops, capacity: 2, countIsExact: true), Is.Not.Null);

        // One of them failing is fine.
        ops[2] = ops[2] with { Ok = false };
        Assert.That(Check(ops, capacity: 2, countIsExact: true), Is.Null);

        // A count that no moment had: 2 free while the box is out (and before it came back).
        ops.Add(new(1, Kind.Available, -1, Ok: true, Index: -1, Created: -1, Value: 2) { Call = 7, Return = 8 });
        ops[1] = ops[1] with { Call = 9, Return = 10 };
        Assert.That(Check(ops, capacity: 2, countIsExact: true), Is.Not.Null);
    }

    /// <summary>Runs one history: every thread does its operations at once, recording them.</summary>
    private static List<Op> RunHistory(int capacity, int threads, int cacheSize, int seed, out NetBufPool pool)
    {
        var localPool = new NetBufPool(capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        pool = localPool;
        long clock = 0;
        int nextHandle = 0;

        // Handles by id, shared by all threads (so copies race); a box or a pointer.
        var handles = new object?[threads * OperationsPerThread];
        var perThread = new List<Op>[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var random = new Random(seed + t);
            var mine = perThread[t] = [];
            start.SignalAndWait();
            for (int i = 0; i < OperationsPerThread; i++)
            {
                Kind kind = (Kind)random.Next(Enum.GetValues<Kind>().Length);
                int known = Volatile.Read(ref nextHandle);
                int target = known == 0 ? -1 : random.Next(known);
                object? handle = target < 0 ? null : Volatile.Read(ref handles[target]);
                Op op = Invoke(localPool, kind, target, handle, ref clock, ref nextHandle, handles, t);
                mine.Add(op);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        Deadlines.JoinAll(workers);

        // Quiescent: give back every handle still current, then the pool must be whole.
        foreach (object? handle in handles)
        {
            try
            {
                switch (handle)
                {
                    case NetBufBox box:
                        box.Dispose();
                        break;
                    case NetBufPtr pointer:
                        localPool.FreeBulk([pointer]);
                        break;
                }
            }
            catch (InvalidOperationException)
            {
                // Not current any more (ObjectDisposedException derives from it).
            }
        }

        localPool.Trim();
        Assert.That(localPool.Available, Is.EqualTo(capacity), $"seed {seed}: buffers lost");
        return [.. perThread.SelectMany(l => l)];
    }

    /// <summary>Performs one operation, stamping its call and return.</summary>
    private static Op Invoke(NetBufPool pool, Kind kind, int target, object? handle, ref long clock, ref int nextHandle, object?[] handles, int thread)
    {
        long call = Interlocked.Increment(ref clock);
        bool ok = false;
        int index = -1;
        object? created = null;
        int value = 0;
        try
        {
            switch (kind)
            {
                case Kind.AllocBoxed:
                    ok = pool.TryAllocBoxed(out NetBufBox fresh);
                    if (ok)
                    {
                        index = fresh.Index;
                        created = fresh;
                    }

                    break;
                case Kind.Dispose when handle is NetBufBox box:
                    box.Dispose();
                    ok = true;
                    break;
                case Kind.Lend when handle is NetBufBox box:
                    NetBufPtr lent = box.IntoBufPtr();
                    (ok, index, created) = (true, lent.BufferIndex, lent);
                    break;
                case Kind.Restore when handle is NetBufPtr pointer:
                    ok = pool.TryFromBufPtr(pointer, out NetBuf restored);
                    if (ok)
                    {
                        index = restored.BufferIndex;
                        created = restored.IntoBox();
                    }

                    break;
                case Kind.FreeBulk when handle is NetBufPtr pointer:
                    pool.FreeBulk([pointer]);
                    ok = true;
                    break;
                case Kind.Available:
                    value = pool.Available;
                    ok = true;
                    break;
                default:
                    // No suitable handle: count instead.
                    kind = Kind.Available;
                    target = -1;
                    value = pool.Available;
                    ok = true;
                    break;
            }
        }
        catch (InvalidOperationException)
        {
            ok = false; // a stale handle (ObjectDisposedException derives from InvalidOperationException)
        }

        long returned = Interlocked.Increment(ref clock);
        int createdId = -1;
        if (created is not null)
        {
            // Published after the return stamp: no other operation can use it before this one returned.
            createdId = Interlocked.Increment(ref nextHandle) - 1;
            Volatile.Write(ref handles[createdId], created);
        }

        return new Op(thread, kind, target, ok, index, createdId, value) { Call = call, Return = returned };
    }

    /// <summary>Searches for a linearization of <paramref name="ops"/>.</summary>
    /// <returns>Null when one exists; otherwise why not.</returns>
    private static string? Check(List<Op> ops, int capacity, bool countIsExact)
    {
        if (ops.Count > 64)
        {
            throw new ArgumentException("at most 64 operations", nameof(ops));
        }

        // Handle id -> buffer index, from the operations that created them.
        var indexOf = new Dictionary<int, int>();
        foreach (Op op in ops.Where(o => o.Created >= 0))
        {
            indexOf[op.Created] = op.Index;
        }

        ulong allFree = capacity == 64 ? ulong.MaxValue : (1UL << capacity) - 1;
        var seen = new HashSet<(ulong Done, ulong Free, ulong Alive)>();
        int deepest = 0;
        bool found = Search(0, allFree, 0);
        return found ? null : $"no order explains the results; the longest consistent prefix has {deepest} of {ops.Count} operations";

        bool Search(ulong done, ulong free, ulong alive)
        {
            int count = BitOperations.PopCount(done);
            deepest = Math.Max(deepest, count);
            if (count == ops.Count)
            {
                return true;
            }

            if (!seen.Add((done, free, alive)))
            {
                return false;
            }

            // Candidates: pending operations called before every pending operation returned.
            long firstReturn = long.MaxValue;
            for (int i = 0; i < ops.Count; i++)
            {
                if ((done & (1UL << i)) == 0)
                {
                    firstReturn = Math.Min(firstReturn, ops[i].Return);
                }
            }

            for (int i = 0; i < ops.Count; i++)
            {
                if ((done & (1UL << i)) != 0 || ops[i].Call > firstReturn)
                {
                    continue;
                }

                if (Step(ops[i], done, free, alive, out ulong nextFree, out ulong nextAlive) &&
                    Search(done | (1UL << i), nextFree, nextAlive))
                {
                    return true;
                }
            }

            return false;
        }

        // The sequential model: is this result what the pool would give in this state, and the next state.
        bool Step(Op op, ulong done, ulong free, ulong alive, out ulong nextFree, out ulong nextAlive)
        {
            nextFree = free;
            nextAlive = alive;
            bool current = op.Target >= 0 && (alive & (1UL << op.Target)) != 0;
            switch (op.Kind)
            {
                case Kind.AllocBoxed:
                    if (!op.Ok)
                    {
                        // Refused only when every buffer is out, or back only through returns still running.
                        return BitOperations.PopCount(free) <= ReturnsInFlight(op, done, ops);
                    }

                    if ((free & (1UL << op.Index)) == 0)
                    {
                        return false;
                    }

                    nextFree = free & ~(1UL << op.Index);
                    nextAlive = alive | (1UL << op.Created);
                    return true;
                case Kind.Dispose or Kind.FreeBulk:
                    if (op.Ok != current)
                    {
                        return false;
                    }

                    if (current)
                    {
                        nextAlive = alive & ~(1UL << op.Target);
                        nextFree = free | (1UL << indexOf[op.Target]);
                    }

                    return true;
                case Kind.Lend or Kind.Restore:
                    if (op.Ok != current)
                    {
                        return false;
                    }

                    if (current)
                    {
                        nextAlive = (alive & ~(1UL << op.Target)) | (1UL << op.Created);
                    }

                    return true;
                default:
                    // Available: without thread caches, the free list's exact count, except that a
                    // return takes effect (its state CAS, which makes it exclusive) before its index is
                    // back on the list: returns already ordered but still running when the count
                    // was called may be missing from it. With caches it is a documented snapshot
                    // that may also miss a buffer moving between a cache and the list: range only.
                    int actual = BitOperations.PopCount(free);
                    int inFlight = ReturnsInFlight(op, done, ops);
                    return countIsExact
                        ? op.Value <= actual && op.Value >= actual - inFlight
                        : op.Value >= 0 && op.Value <= capacity;
            }
        }
    }

    /// <summary>Successful returns already in the order that were still running when <paramref name="op"/> was called:
    /// their buffers are free in the model but may not be back on the list yet.</summary>
    private static int ReturnsInFlight(Op op, ulong done, List<Op> ops)
    {
        int inFlight = 0;
        for (int j = 0; j < ops.Count; j++)
        {
            Op other = ops[j];
            if ((done & (1UL << j)) != 0 && other.Ok && other.Kind is Kind.Dispose or Kind.FreeBulk && other.Return > op.Call)
            {
                inFlight++;
            }
        }

        return inFlight;
    }

    private static string Describe(List<Op> ops)
    {
        var text = new StringBuilder();
        foreach (Op op in ops.OrderBy(o => o.Call))
        {
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture,
                $"  [{op.Call,3}..{op.Return,3}] thread {op.Thread}: {op.Kind}({(op.Target >= 0 ? $"h{op.Target}" : string.Empty)}) -> " +
                $"{(op.Kind == Kind.Available ? op.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : op.Ok ? "ok" : "refused")}" +
                $"{(op.Index >= 0 ? $" buffer {op.Index}" : string.Empty)}{(op.Created >= 0 ? $" as h{op.Created}" : string.Empty)}");
        }

        return text.ToString();
    }

    /// <summary>One operation of a history: what was called on which handle, what it returned, when.</summary>
    private sealed record Op(int Thread, Kind Kind, int Target, bool Ok, int Index, int Created, int Value)
    {
        public long Call { get; init; }

        public long Return { get; init; }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Shows that the version tag is what keeps the free list intact: the same list without the tag
/// is corrupted by the ABA problem under a stress run that the tagged list survives; and the same
/// for the pool's own list, with its tag removed through the library's test switches. A yielding
/// hook between reading the head and the CAS widens the race window, as a preemption would; each
/// thread takes two entries and puts the first back before the second, so the ABA interleaving
/// needs nothing but that yield and is caught on a single CPU too (checked with taskset -c 0).
/// </summary>
[NonParallelizable]
public sealed class FreeListAbaTests
{
    private const int Slots = 4;
    private const int Threads = 4;

    [Test]
    public void Without_the_tag_the_list_is_corrupted()
    {
        var clock = Stopwatch.StartNew();
        string? corruption = null;
        for (int trial = 0; trial < 20 && corruption is null; trial++)
        {
            corruption = Hammer<UntaggedYieldingPolicy>(maxOperationsPerThread: 2_000_000, StressBudget.Seconds(2));
        }

        Assert.That(corruption, Is.Not.Null, "an untagged Treiber stack must break under this load");
        TestContext.Out.WriteLine($"caught after {clock.Elapsed.TotalMilliseconds:F0} ms: {corruption}");
    }

    [Test]
    public void With_the_tag_the_same_load_never_corrupts_it()
    {
        string? corruption = Hammer<TaggedYieldingPolicy>(maxOperationsPerThread: 200_000, StressBudget.Seconds(3));
        Assert.That(corruption, Is.Null);
    }

    [Test]
    public void The_pools_own_list_without_its_tag_is_corrupted()
    {
        // The pool's list, not a test-local one: the tag removed and the yield put in through the
        // library's test switches, so this fails if the pool ever stops using the tagged policy.
        string? corruption = null;
        for (int trial = 0; trial < 20 && corruption is null; trial++)
        {
            corruption = HammerPool(untagged: true, maxOperationsPerThread: 2_000_000, StressBudget.Seconds(2));
        }

        Assert.That(corruption, Is.Not.Null, "the pool's list without its tag must break under this load");
        TestContext.Out.WriteLine($"caught: {corruption}");
    }

    [Test]
    public void The_pools_own_list_with_its_tag_survives_the_same_load()
    {
        string? corruption = HammerPool(untagged: false, maxOperationsPerThread: 200_000, StressBudget.Seconds(3));
        Assert.That(corruption, Is.Null);
    }

    [Test]
    public void Count_is_a_consistent_snapshot_and_close_stops_pops_and_pushes()
    {
        var slots = SlotTable.Allocate(Slots);
        var list = new IndexFreeList<AbaTaggedPolicy>();
        list.Initialize(slots);
        Assert.That(list.Count(slots), Is.EqualTo(Slots));
        int a = list.Pop(slots);
        int b = list.Pop(slots);
        Assert.That(list.Count(slots), Is.EqualTo(Slots - 2));
        Assert.That(list.TryPush(slots, a), Is.True);
        Assert.That(list.Count(slots), Is.EqualTo(Slots - 1));
        Assert.That(list.Close(slots), Is.EqualTo(Slots - 1));
        Assert.That(list.Close(slots), Is.EqualTo(-1));
        Assert.That(list.Pop(slots), Is.EqualTo(IndexFreeList<AbaTaggedPolicy>.Closed));
        Assert.That(list.TryPush(slots, b), Is.False);
        Assert.That(list.Count(slots), Is.Zero);

        var empty = new IndexFreeList<AbaTaggedPolicy>();
        empty.Initialize(SlotTable.Allocate(0));
        Assert.That(empty.Pop(SlotTable.Allocate(0)), Is.EqualTo(IndexFreeList<AbaTaggedPolicy>.Empty));
        Assert.That(empty.Close(SlotTable.Allocate(0)), Is.Zero);
    }

    /// <summary>Runs the threads until corruption is seen, the operations are done, or time is up.</summary>
    /// <returns>A description of the corruption, or null.</returns>
    private static string? Hammer<TPolicy>(int maxOperationsPerThread, TimeSpan budget)
        where TPolicy : struct, IFreeListPolicy
    {
        var slots = SlotTable.Allocate(Slots);
        var holder = new ListHolder<TPolicy>();
        holder.List.Initialize(slots);
        var owners = new int[Slots];
        var corruption = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        using var start = new Barrier(Threads);

        var threads = Enumerable.Range(1, Threads).Select(id => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < maxOperationsPerThread && corruption.IsEmpty; i++)
            {
                if ((i & 1023) == 0 && clock.Elapsed > budget)
                {
                    return;
                }

                // Two at a time, the first pushed back before the second: one thread alone then
                // does "pop A, pop B, push A" while another sits between its read and its CAS, so
                // the ABA interleaving needs no preemption but the yield (one CPU is enough).
                int first = holder.List.Pop(slots);
                int second = holder.List.Pop(slots);
                foreach (int index in (ReadOnlySpan<int>)[first, second])
                {
                    if (index >= 0 && Interlocked.Exchange(ref owners[index], id) is int previous and not 0)
                    {
                        corruption.Enqueue($"slot {index} popped by thread {id} while thread {previous} held it");
                        return;
                    }
                }

                foreach (int index in (ReadOnlySpan<int>)[first, second])
                {
                    if (index >= 0)
                    {
                        Interlocked.Exchange(ref owners[index], 0);
                        holder.List.TryPush(slots, index);
                    }
                }
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);
        if (corruption.TryPeek(out string? found))
        {
            return found;
        }

        // Quiescent now: the list must hold every slot exactly once.
        var seen = new HashSet<int>();
        for (int i = 0; i <= Slots; i++)
        {
            int index = holder.List.Pop(slots);
            if (index < 0)
            {
                break;
            }

            if (!seen.Add(index))
            {
                return $"slot {index} is on the list twice";
            }
        }

        return seen.Count == Slots ? null : $"the list holds {seen.Count} of {Slots} slots";
    }

    /// <summary>The same load on a real pool (no thread caches: every call goes to its list), with the
    /// list's yield switched on and, if asked, its tag switched off.</summary>
    /// <returns>A description of the corruption, or null.</returns>
    private static string? HammerPool(bool untagged, int maxOperationsPerThread, TimeSpan budget)
    {
        TestSwitches.FreeListYieldOneIn = 8;
        TestSwitches.FreeListUntagged = untagged;
        try
        {
            using var pool = new NetBufPool(Slots, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
            var owners = new int[Slots];
            var corruption = new ConcurrentQueue<string>();
            var clock = Stopwatch.StartNew();
            using var start = new Barrier(Threads);
            var threads = Enumerable.Range(1, Threads).Select(id => new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    for (int i = 0; i < maxOperationsPerThread && corruption.IsEmpty; i++)
                    {
                        if ((i & 1023) == 0 && clock.Elapsed > budget)
                        {
                            return;
                        }

                        pool.TryAllocBoxed(out NetBufBox first);
                        pool.TryAllocBoxed(out NetBufBox second);
                        foreach (NetBufBox box in (ReadOnlySpan<NetBufBox>)[first, second])
                        {
                            if (box.PoolOrNull is not null && Interlocked.Exchange(ref owners[box.Index], id) is int previous and not 0)
                            {
                                corruption.Enqueue($"buffer {box.Index} handed to thread {id} while thread {previous} held it");
                                return;
                            }
                        }

                        foreach (NetBufBox box in (ReadOnlySpan<NetBufBox>)[first, second])
                        {
                            if (box.PoolOrNull is not null)
                            {
                                Interlocked.Exchange(ref owners[box.Index], 0);
                                box.Dispose();
                            }
                        }
                    }
                }
                catch (ObjectDisposedException ex)
                {
                    // Two owners of one buffer: the second's token was overwritten by the first's.
                    corruption.Enqueue($"thread {id}: {ex.Message}");
                }
            })).ToList();

            threads.ForEach(t => t.Start());
            Deadlines.JoinAll(threads);
            if (corruption.TryPeek(out string? found))
            {
                return found;
            }

            var taken = new List<NetBufBox>();
            while (taken.Count <= Slots && pool.TryAllocBoxed(out NetBufBox box))
            {
                if (taken.Exists(b => b.Index == box.Index))
                {
                    return $"buffer {box.Index} is on the pool's list twice";
                }

                taken.Add(box);
            }

            return taken.Count == Slots ? null : $"the pool hands out {taken.Count} of {Slots} buffers";
        }
        finally
        {
            TestSwitches.FreeListYieldOneIn = 0;
            TestSwitches.FreeListUntagged = false;
        }
    }

    /// <summary>A class to hold the list struct so that every thread works on the same instance.</summary>
    private sealed class ListHolder<TPolicy>
        where TPolicy : struct, IFreeListPolicy
    {
        public IndexFreeList<TPolicy> List;
    }

    /// <summary>The tag never changes, as in a naive Treiber stack; yields 1 time in 8.</summary>
    private readonly struct UntaggedYieldingPolicy : IFreeListPolicy
    {
        public static long NextTag(long head) => head & unchecked((long)0xFFFF_FFFF_0000_0000);

        public static void BeforeCompareExchange() => YieldSometimes();
    }

    /// <summary>The production tag with the same yields.</summary>
    private readonly struct TaggedYieldingPolicy : IFreeListPolicy
    {
        public static long NextTag(long head) => AbaTaggedPolicy.NextTag(head);

        public static void BeforeCompareExchange() => YieldSometimes();
    }

    private static void YieldSometimes()
    {
        if (Random.Shared.Next(8) == 0)
        {
            Thread.Yield();
        }
    }
}

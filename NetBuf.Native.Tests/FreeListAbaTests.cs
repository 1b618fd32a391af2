using System.Collections.Concurrent;
using System.Diagnostics;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Shows that the version tag is what keeps the free list intact: the same list without the tag
/// is corrupted by the ABA problem under a stress run that the tagged list survives. A yielding
/// hook between reading the head and the CAS widens the race window, as a preemption would.
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
            corruption = Hammer<UntaggedYieldingPolicy>(maxOperationsPerThread: 2_000_000, TimeSpan.FromSeconds(2));
        }

        Assert.That(corruption, Is.Not.Null, "an untagged Treiber stack must break under this load");
        TestContext.Out.WriteLine($"caught after {clock.Elapsed.TotalMilliseconds:F0} ms: {corruption}");
    }

    [Test]
    public void With_the_tag_the_same_load_never_corrupts_it()
    {
        string? corruption = Hammer<TaggedYieldingPolicy>(maxOperationsPerThread: 200_000, TimeSpan.FromSeconds(3));
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

                int index = holder.List.Pop(slots);
                if (index < 0)
                {
                    continue;
                }

                int previous = Interlocked.Exchange(ref owners[index], id);
                if (previous != 0)
                {
                    corruption.Enqueue($"slot {index} popped by thread {id} while thread {previous} held it");
                    return;
                }

                Interlocked.Exchange(ref owners[index], 0);
                holder.List.TryPush(slots, index);
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
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

using Microsoft.Coyote.Specifications;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.CoyoteTests;

/// <summary>
/// The free list under systematic scheduling: without the version tag Coyote finds the ABA
/// interleaving (a pop that read head A and its next B is preempted while others pop A and B and
/// push A back; its CAS then installs B, which someone holds); with the tag it finds nothing.
/// Both for the bare list and for the real pool with its tag switched off.
/// </summary>
[NonParallelizable]
public sealed class FreeListCoyoteTests
{
    private const int Slots = 4;
    private const int Tasks = 2;
    private const int Rounds = 2;

    [Test]
    public void Without_the_tag_Coyote_finds_the_ABA_bug() =>
        CoyoteHarness.AssertFindsBug("freelist-untagged", ListScenario<UntaggedPolicy>, iterations: 2_000);

    [Test]
    public void With_the_tag_no_schedule_corrupts_the_list() =>
        CoyoteHarness.AssertNoBug("freelist-tagged", ListScenario<AbaTaggedPolicy>, iterations: 1_500);

    [Test]
    public void The_pools_own_list_without_its_tag_is_caught()
    {
        TestSwitches.FreeListUntagged = true;
        try
        {
            CoyoteHarness.AssertFindsBug("pool-untagged", PoolScenario, iterations: 2_000);
        }
        finally
        {
            TestSwitches.FreeListUntagged = false;
        }
    }

    [Test]
    public void The_pools_own_list_passes_every_schedule() =>
        CoyoteHarness.AssertNoBug("pool-tagged", PoolScenario, iterations: 1_000);

    /// <summary>Tasks pop and push the bare list; every slot is held by one task at a time, and the
    /// list holds every slot exactly once at the end.</summary>
    private static async Task ListScenario<TPolicy>()
        where TPolicy : struct, IFreeListPolicy
    {
        var slots = SlotTable.Allocate(Slots);
        var holder = new ListHolder<TPolicy>();
        holder.List.Initialize(slots);
        int[] holders = new int[Slots];

        Action Body(int who) => () =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                // Two at a time, the first pushed back before the second: the pattern of ABA
                // (pop A, pop B, push A) within one task.
                int first = holder.List.Pop(slots);
                int second = holder.List.Pop(slots);
                foreach (int index in (ReadOnlySpan<int>)[first, second])
                {
                    if (index >= 0)
                    {
                        Scenarios.Take(holders, index, who);
                    }
                }

                foreach (int index in (ReadOnlySpan<int>)[first, second])
                {
                    if (index >= 0)
                    {
                        Scenarios.Release(holders, index);
                        holder.List.TryPush(slots, index);
                    }
                }
            }
        };

        await Scenarios.RunConcurrently([.. Enumerable.Range(1, Tasks).Select(Body)]);

        var seen = new HashSet<int>();
        for (int i = 0; i <= Slots; i++)
        {
            int index = holder.List.Pop(slots);
            if (index < 0)
            {
                break;
            }

            Specification.Assert(seen.Add(index), $"slot {index} is on the list twice");
        }

        Specification.Assert(seen.Count == Slots, $"the list holds {seen.Count} of {Slots} slots");
    }

    /// <summary>The same through the real pool (no thread caches, so every call is on the list).</summary>
    private static async Task PoolScenario()
    {
        using var pool = new NetBufPool(Slots, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        int[] holders = new int[Slots];

        Action Body(int who) => () =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                // Two at a time, the first returned before the second (pop A, pop B, push A).
                pool.TryAllocBoxed(out NetBufBox first);
                pool.TryAllocBoxed(out NetBufBox second);
                foreach (NetBufBox box in (ReadOnlySpan<NetBufBox>)[first, second])
                {
                    if (box.PoolOrNull is not null)
                    {
                        Scenarios.Take(holders, box.Index, who);
                    }
                }

                foreach (NetBufBox box in (ReadOnlySpan<NetBufBox>)[first, second])
                {
                    if (box.PoolOrNull is not null)
                    {
                        Scenarios.Release(holders, box.Index);
                        box.Dispose();
                    }
                }
            }
        };

        await Scenarios.RunConcurrently([.. Enumerable.Range(1, Tasks).Select(Body)]);
        Specification.Assert(pool.Available == Slots, $"{pool.Available} of {Slots} buffers available at the end");
        var boxes = new List<NetBufBox>();
        while (boxes.Count <= Slots && pool.TryAllocBoxed(out NetBufBox box))
        {
            Specification.Assert(boxes.TrueForAll(b => b.Index != box.Index), $"buffer {box.Index} handed out twice");
            boxes.Add(box);
        }

        Specification.Assert(boxes.Count == Slots, $"{boxes.Count} of {Slots} buffers could be taken at the end");
    }

    private sealed class ListHolder<TPolicy>
        where TPolicy : struct, IFreeListPolicy
    {
        public IndexFreeList<TPolicy> List;
    }

    /// <summary>A naive Treiber stack: the tag never changes.</summary>
    private readonly struct UntaggedPolicy : IFreeListPolicy
    {
        public static long NextTag(long head) => head & unchecked((long)0xFFFF_FFFF_0000_0000);

        public static void BeforeCompareExchange()
        {
        }
    }
}

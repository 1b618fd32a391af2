using System.Buffers;
using Microsoft.Coyote.Runtime;
using Microsoft.Coyote.Specifications;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.CoyoteTests;

/// <summary>
/// The pool's racy paths under systematic scheduling: thread caches' refill, flush, steal, trim
/// and retirement with racing owners; racing restores and disposes of copied boxes and pointers;
/// racing disposes of a rental; disposal of the pool with buffers out. Each passes thousands of
/// schedules on the real code, and the hardening issue's bugs, put back through
/// <see cref="TestSwitches"/>, are found.
/// </summary>
[NonParallelizable]
public sealed class PoolCoyoteTests
{
    [TearDown]
    public void ResetSwitches()
    {
        TestSwitches.StealSkipsBusyGates = false;
        TestSwitches.RentalDisposeWithoutCompareExchange = false;
        NetBufPool.RefillHookForTesting = null;
    }

    [Test]
    public void Thread_caches_never_lose_or_double_a_buffer_and_allocation_never_fails_spuriously()
    {
        // A scheduling point inside a refill: between taking buffers from the shared list and
        // counting them in the cache (the window the steal must wait out).
        NetBufPool.RefillHookForTesting = SchedulingPoint.Interleave;
        CoyoteHarness.AssertNoBug("thread-caches", ThreadCacheScenario, iterations: 1_500);
    }

    [Test]
    public void A_steal_that_skips_busy_gates_is_caught()
    {
        NetBufPool.RefillHookForTesting = SchedulingPoint.Interleave;
        TestSwitches.StealSkipsBusyGates = true;
        CoyoteHarness.AssertFindsBug("steal-skips-busy-gates", ThreadCacheScenario, iterations: 1_500);
    }

    [Test]
    public void Racing_copies_of_a_box_or_pointer_have_exactly_one_winner() =>
        CoyoteHarness.AssertNoBug("copied-handles", CopiedHandlesScenario, iterations: 1_500);

    [Test]
    public void Racing_disposes_of_a_rental_end_each_rental_exactly_once() =>
        CoyoteHarness.AssertNoBug("rental-dispose", RentalScenario, iterations: 1_000);

    [Test]
    public void A_rental_dispose_without_its_CAS_is_caught()
    {
        TestSwitches.RentalDisposeWithoutCompareExchange = true;
        CoyoteHarness.AssertFindsBug("rental-dispose-without-cas", RentalScenario, iterations: 5_000);
    }

    [Test]
    public void Disposing_the_pool_with_buffers_out_frees_the_block_once_and_only_after_the_last_return()
    {
        NetBufPool.RefillHookForTesting = SchedulingPoint.Interleave;
        CoyoteHarness.AssertNoBug("pool-disposal", DisposalScenario, iterations: 1_500);
    }

    /// <summary>
    /// Two buffers and caches of four (refills of two): each allocation can empty the shared list
    /// into one cache, so the other task must steal, often while the first is inside its refill.
    /// At most two buffers are ever out, so no allocation may fail. A third task trims.
    /// </summary>
    private static async Task ThreadCacheScenario()
    {
        const int capacity = 2;
        using var pool = new NetBufPool(capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 4 });
        int[] holders = new int[capacity];

        Action Worker(int who) => () =>
        {
            for (int round = 0; round < 2; round++)
            {
                bool got = pool.TryAlloc(out NetBuf buffer);
                Specification.Assert(got, $"task {who}: TryAlloc failed with at most {capacity} buffers out of {capacity}");
                Scenarios.Take(holders, buffer.BufferIndex, who);
                Scenarios.Release(holders, buffer.BufferIndex);
                buffer.Dispose(); // into this task's cache
            }
        };

        await Scenarios.RunConcurrently(Worker(1), Worker(2), pool.Trim);
        pool.Trim();
        Specification.Assert(pool.SharedAvailable == capacity, $"after Trim the shared list holds {pool.SharedAvailable} of {capacity}");
        AssertAllDistinct(pool, capacity);
    }

    /// <summary>Copies of one box race to dispose it, unbox it and lend it; copies of one pointer race
    /// to restore and free it. Exactly one copy of each wins; all buffers come back.</summary>
    private static async Task CopiedHandlesScenario()
    {
        const int capacity = 2;
        using var pool = new NetBufPool(capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        NetBufBox box = pool.AllocBoxed();
        NetBufPtr pointer = pool.AllocBoxed().IntoBufPtr();
        int boxWins = 0;
        int pointerWins = 0;

        void Won(ref int wins) => Interlocked.Increment(ref wins);

        await Scenarios.RunConcurrently(
            () =>
            {
                NetBufBox copy = box;
                if (Scenarios.Attempt(copy.Dispose))
                {
                    Won(ref boxWins);
                }
            },
            () =>
            {
                NetBufBox copy = box;
                if (Scenarios.Attempt(() =>
                {
                    using NetBuf owned = copy.IntoNetBuf();
                }))
                {
                    Won(ref boxWins);
                }
            },
            () =>
            {
                NetBufBox copy = box;
                if (Scenarios.Attempt(() => pool.FromBufPtr(copy.IntoBufPtr()).Dispose()))
                {
                    Won(ref boxWins);
                }
            },
            () =>
            {
                if (pool.TryFromBufPtr(pointer, out NetBuf restored))
                {
                    Won(ref pointerWins);
                    restored.Dispose();
                }
            },
            () =>
            {
                if (Scenarios.Attempt(() => pool.FreeBulk([pointer])))
                {
                    Won(ref pointerWins);
                }
            });

        Specification.Assert(boxWins == 1, $"{boxWins} copies of one box won");
        Specification.Assert(pointerWins == 1, $"{pointerWins} copies of one pointer won");
        Specification.Assert(pool.Available == capacity, $"{pool.Available} of {capacity} buffers back");
        AssertAllDistinct(pool, capacity);
    }

    /// <summary>
    /// One buffer, so every rental reuses one owner object. Task 1 disposes the rental and rents
    /// again; task 2 disposes the first rental late; the second rental is disposed at the end. Each rental must be ended by exactly one
    /// successful dispose, and the buffer must be back at the end.
    /// </summary>
    private static async Task RentalScenario()
    {
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var memoryPool = new NetBufMemoryPool(pool);
        IMemoryOwner<byte> first = memoryPool.Rent();
        IMemoryOwner<byte>? second = null;
        int rentals = 1;
        int disposes = 0;

        await Scenarios.RunConcurrently(
            () =>
            {
                if (Scenarios.Attempt(first.Dispose))
                {
                    Interlocked.Increment(ref disposes);
                }

                try
                {
                    second = memoryPool.Rent();
                    Interlocked.Increment(ref rentals);
                }
                catch (NetBufPoolExhaustedException)
                {
                    // Task 2 won the first rental's dispose but has not returned the buffer yet.
                }
            },
            () =>
            {
                if (Scenarios.Attempt(first.Dispose))
                {
                    Interlocked.Increment(ref disposes);
                }
            });

        // The second rental's owner ends it after the race: a late dispose of the first must not
        // have ended it for them.
        if (second is not null && Scenarios.Attempt(second.Dispose))
        {
            disposes++;
        }

        Specification.Assert(disposes == rentals, $"{rentals} rentals ended by {disposes} successful disposes");
        Specification.Assert(pool.Available == 1, "the buffer was lost");
    }

    /// <summary>
    /// Buffers out in boxes, a pointer and a thread's cache; one task disposes the pool while others
    /// return them and one keeps allocating. The block is freed exactly once, only after the last
    /// buffer is back.
    /// </summary>
    private static async Task DisposalScenario()
    {
        const int capacity = 4;
        var pool = new NetBufPool(capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 4 });
        NetBufBox box = pool.AllocBoxed();
        NetBufPtr pointer = pool.AllocBoxed().IntoBufPtr();

        void ReturnOne(Action give)
        {
            Specification.Assert(!pool.IsMemoryReleased, "the block was freed while a buffer was still out");
            give();
        }

        await Scenarios.RunConcurrently(
            () => ReturnOne(box.Dispose),
            () => ReturnOne(() => pool.FreeBulk([pointer])),
            pool.Dispose,
            () =>
            {
                for (int i = 0; i < 2; i++)
                {
                    NetBuf buffer = default;
                    bool got;
                    try
                    {
                        got = pool.TryAlloc(out buffer);
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }

                    if (got)
                    {
                        Specification.Assert(!pool.IsMemoryReleased, "the block was freed while a buffer was still out");
                        buffer.Dispose();
                    }
                }
            });

        Specification.Assert(pool.IsDisposed, "the pool is not disposed");
        Specification.Assert(pool.IsMemoryReleased, "every buffer is back but the block was not freed");
        Specification.Assert(pool.Memory.TimesFreed == 1, $"the block was freed {pool.Memory.TimesFreed} times");
    }

    /// <summary>Takes every buffer: each must come out once, and then the pool is empty.</summary>
    private static void AssertAllDistinct(NetBufPool pool, int capacity)
    {
        var taken = new List<NetBufBox>();
        while (taken.Count <= capacity && pool.TryAllocBoxed(out NetBufBox box))
        {
            Specification.Assert(taken.TrueForAll(b => b.Index != box.Index), $"buffer {box.Index} handed out twice");
            taken.Add(box);
        }

        Specification.Assert(taken.Count == capacity, $"{taken.Count} of {capacity} buffers could be taken at the end");
        foreach (NetBufBox box in taken)
        {
            box.Dispose();
        }
    }
}

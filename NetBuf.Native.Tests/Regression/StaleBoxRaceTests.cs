using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A stale copy of a <see cref="NetBufBox"/> that keeps working on its buffer
/// (through <see cref="NetBufBox.AsNetBuf"/>) while the rightful owner disposes and reallocates
/// it. The misuser may get exceptions or wrong bytes, but the pool's structure must stay intact
/// (<see cref="NetBufPool.Available"/> exact and within 0..Capacity), no span handed to anyone may
/// leave its buffer, and the block is freed exactly when the last rightful owner returns its buffer.
/// </summary>
[NonParallelizable]
public sealed class StaleBoxRaceTests
{
    private const int Capacity = 8;
    private const int BufferLength = 2048;
    private static readonly TimeSpan Budget = StressBudget.Seconds(2);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(10);

    [Test]
    public void Racing_stale_box_copies_keep_the_pool_consistent_and_every_span_inside_its_buffer()
    {
        // No thread cache: every free pushes onto the shared list, whose per-node bookkeeping is
        // what the stale writer used to overwrite.
        var pool = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0, DefaultHeadroom = 256 });
        var failures = new ConcurrentQueue<string>();
        NetBufBox keeper = pool.AllocBoxed(); // a rightful owner for the whole test
        Holder? published = null;
        int ownerDone = 0;
        long cycles = 0;
        var clock = Stopwatch.StartNew();

        void Owner()
        {
            var random = new Random(1);
            var held = new List<NetBufBox>();
            while (clock.Elapsed < Budget && failures.IsEmpty)
            {
                if (held.Count < 3 && (held.Count == 0 || random.Next(2) == 0))
                {
                    if (!pool.TryAllocBoxed(out NetBufBox box))
                    {
                        failures.Enqueue($"TryAllocBoxed failed with {held.Count + 1} of {Capacity} buffers out");
                        break;
                    }

                    UseAsOwner(pool, box, random, failures);
                    Volatile.Write(ref published, new Holder(box)); // the copy the misuser works on
                    held.Add(box);
                }
                else
                {
                    int pick = random.Next(held.Count);
                    NetBufBox box = held[pick];
                    held.RemoveAt(pick);
                    UseAsOwner(pool, box, random, failures);
                    box.Dispose(); // the rightful owner's dispose: must not throw
                    cycles++;
                }

                // Only this thread allocates and frees, so the count is exact here.
                int available = pool.Available;
                if (available != Capacity - 1 - held.Count)
                {
                    failures.Enqueue($"Available is {available} with {held.Count + 1} of {Capacity} buffers out");
                }
            }

            held.ForEach(b => b.Dispose());
            Volatile.Write(ref ownerDone, 1);
        }

        void Misuser()
        {
            int step = 0;
            while (Volatile.Read(ref ownerDone) == 0)
            {
                Holder? target = Volatile.Read(ref published);
                if (target is null)
                {
                    continue;
                }

                // Keep working on the copy until the owner has disposed it (and beyond a little).
                for (int i = 0; i < 256 && Misuse(pool, target.Box, step++, failures); i++)
                {
                }
            }
        }

        RegressionSupport.RunThreads(failures, JoinTimeout, Owner, Misuser);

        Assert.That(failures, Is.Empty, () => RegressionSupport.Describe(failures));
        Assert.That(cycles, Is.GreaterThan(1000), "the owner made too few cycles to race");
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(Capacity - 1), "every buffer but the keeper's is back");
        Assert.That(RegressionSupport.IsInsideBuffer(pool, keeper.AsNetBuf().BufferIndex, keeper.AsNetBuf().Packet), Is.True);

        pool.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False, "the keeper still owns a buffer, so the block must stay");
        Assert.DoesNotThrow(() => keeper.Dispose());
        Assert.That(pool.IsMemoryReleased, Is.True, "the last buffer came back, so the block is freed");
    }

    /// <summary>The rightful owner's use: regions grown and read; only a length that no longer fits may throw.</summary>
    private static void UseAsOwner(NetBufPool pool, NetBufBox box, Random random, ConcurrentQueue<string> failures)
    {
        NetBuf view = box.AsNetBuf();
        int index = view.BufferIndex;
        try
        {
            RegressionSupport.CheckInside(failures, pool, index, view.Append(random.Next(1, 64)), "owner's Append");
            RegressionSupport.CheckInside(failures, pool, index, view.Prepend(random.Next(1, 16)), "owner's Prepend");
        }
        catch (ArgumentOutOfRangeException)
        {
            // The misuser (holding a copy of this very token) may have used up the room.
        }

        RegressionSupport.CheckInside(failures, pool, index, view.Packet, "owner's Packet");
        RegressionSupport.CheckInside(failures, pool, index, view.PacketWithHeader, "owner's PacketWithHeader");
        RegressionSupport.CheckInside(failures, pool, index, view.Header, "owner's Header");
    }

    /// <summary>One operation of the misuser on its copy.</summary>
    /// <returns>False once the copy is seen stale.</returns>
    private static bool Misuse(NetBufPool pool, NetBufBox copy, int step, ConcurrentQueue<string> failures)
    {
        try
        {
            NetBuf view = copy.AsNetBuf();
            int index = view.BufferIndex;
            switch (step % 6)
            {
                case 0:
                    RegressionSupport.CheckInside(failures, pool, index, view.TrimStart(1 + (step % 8)), "stale TrimStart");
                    break;
                case 1:
                    RegressionSupport.CheckInside(failures, pool, index, view.Prepend(1 + (step % 8)), "stale Prepend");
                    break;
                case 2:
                    RegressionSupport.CheckInside(failures, pool, index, view.Append(1 + (step % 32)), "stale Append");
                    break;
                case 3:
                    view.SetPacketLength(step % 64);
                    break;
                case 4:
                    RegressionSupport.CheckInside(failures, pool, index, view.Packet, "stale Packet");
                    break;
                default:
                    RegressionSupport.CheckInside(failures, pool, index, view.TrimEnd(1 + (step % 4)), "stale TrimEnd");
                    break;
            }

            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return true; // a length that does not fit: nothing changed
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private sealed class Holder(NetBufBox box)
    {
        public NetBufBox Box { get; } = box;
    }
}

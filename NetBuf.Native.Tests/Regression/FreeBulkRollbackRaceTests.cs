using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// <see cref="NetBufPool.FreeBulk(ReadOnlySpan{NetBufPtr})"/> with a batch that holds an
/// invalid pointer must change nothing, not even for a moment: a concurrent
/// <see cref="NetBufPool.TryFromBufPtr"/> of a valid pointer in that batch must succeed. (The old
/// code took the valid pointer, met the invalid one and put the first back, so a restore in
/// between failed and neither call succeeded.)
/// </summary>
[NonParallelizable]
public sealed class FreeBulkRollbackRaceTests
{
    private const int Capacity = 16;
    private static readonly TimeSpan Budget = StressBudget.Seconds(2);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(15);

    [Test]
    public void A_failing_FreeBulk_never_makes_a_concurrent_restore_of_its_valid_pointer_fail()
    {
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        Holder current = new(pool.AllocBoxed().IntoBufPtr());
        int stop = 0;
        long restores = 0;
        long rejectedBatches = 0;

        // The only thread that restores: it restores the current pointer, lends the buffer again
        // and publishes the new pointer. Nobody else can legitimately take it.
        void Restorer()
        {
            var random = new Random(9);
            while (clock.Elapsed < Budget && failures.IsEmpty)
            {
                NetBufPtr pointer = current.Pointer;
                if (!pool.TryFromBufPtr(pointer, out NetBuf buffer))
                {
                    failures.Enqueue($"after {restores} restores: TryFromBufPtr of the lent pointer failed while FreeBulk rejected a batch holding it");
                    break;
                }

                restores++;
                Volatile.Write(ref current, new Holder(buffer.IntoBufPtr()));

                // A varying pause, so that the freer often reads the newest pointer and takes it
                // before the next restore, which then lands at varying points of that batch.
                Thread.SpinWait(random.Next(64));
            }

            Volatile.Write(ref stop, 1);
        }

        // The misuser's batch: the current pointer and a null one, which must be rejected whole.
        void Freer()
        {
            while (Volatile.Read(ref stop) == 0)
            {
                try
                {
                    pool.FreeBulk([Volatile.Read(ref current).Pointer, default]);
                    failures.Enqueue("FreeBulk with a null pointer in the batch did not throw");
                }
                catch (ArgumentException)
                {
                    rejectedBatches++; // the null pointer: nothing was freed
                }
                catch (InvalidOperationException)
                {
                    rejectedBatches++; // the pointer was restored meanwhile: stale, nothing was freed
                }
            }
        }

        RegressionSupport.RunThreads(failures, JoinTimeout, Restorer, Freer);

        Assert.That(failures, Is.Empty, () => $"{rejectedBatches} batches rejected: {RegressionSupport.Describe(failures)}");
        Assert.That(restores, Is.GreaterThan(1000));
        Assert.That(rejectedBatches, Is.GreaterThan(100));
        Assert.DoesNotThrow(() => pool.FromBufPtr(current.Pointer).Dispose());
        Assert.That(pool.Available, Is.EqualTo(Capacity));
    }

    private sealed class Holder(NetBufPtr pointer)
    {
        public NetBufPtr Pointer { get; } = pointer;
    }
}

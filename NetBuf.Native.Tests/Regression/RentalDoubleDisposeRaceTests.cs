using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A second dispose of a <see cref="NetBufMemoryPool"/> rental, racing the first dispose
/// and a new rental of the same buffer (which reuses the same owner object). Whoever wins, each
/// rental must be ended by exactly one successful dispose and its buffer returned: the late
/// second dispose must not wipe out the new rental so that its owner's dispose throws and the
/// buffer is lost.
/// </summary>
[NonParallelizable]
public sealed class RentalDoubleDisposeRaceTests
{
    private static readonly TimeSpan Budget = StressBudget.Seconds(2);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(15);

    [Test]
    public void Each_rental_is_ended_by_exactly_one_dispose_when_a_second_dispose_races_a_new_rental()
    {
        // One buffer, so every rental reuses the one owner object.
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var memoryPool = new NetBufMemoryPool(pool);
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        IMemoryOwner<byte>? current = null;
        long rentals = 0;
        long successfulDisposes = 0;
        int stop = 0;

        void TryDispose(IMemoryOwner<byte> owner)
        {
            try
            {
                owner.Dispose();
                Interlocked.Increment(ref successfulDisposes);
            }
            catch (ObjectDisposedException)
            {
                // The rental was already ended (by the other disposer): the expected misuse outcome.
            }
        }

        // Renters: rent, publish the owner for the double-disposer, dispose it.
        void Renter()
        {
            while (Volatile.Read(ref stop) == 0)
            {
                if (pool.Available == 0)
                {
                    if (clock.Elapsed > Budget)
                    {
                        return;
                    }

                    continue;
                }

                IMemoryOwner<byte> owner;
                try
                {
                    owner = memoryPool.Rent();
                }
                catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
                {
                    continue; // the other renter got the buffer first
                }

                Interlocked.Increment(ref rentals);
                Volatile.Write(ref current, owner);
                TryDispose(owner);
            }
        }

        // The misuser: disposes whatever owner was published last, again and again.
        void DoubleDisposer()
        {
            while (clock.Elapsed < Budget)
            {
                // Only while the buffer is out, so that most second disposes find a live rental and
                // few throw: the race is a second dispose that reads a rental's state, is preempted,
                // and resumes after that rental ended and a new one began.
                IMemoryOwner<byte>? owner = Volatile.Read(ref current);
                if (owner is not null && pool.Available == 0)
                {
                    TryDispose(owner);
                }
            }

            Volatile.Write(ref stop, 1);
        }

        // More threads than cores (on small machines), so that the scheduler preempts them at random points.
        RegressionSupport.RunThreads(failures, JoinTimeout, Renter, Renter, DoubleDisposer, DoubleDisposer, DoubleDisposer, DoubleDisposer);

        Assert.That(failures, Is.Empty, () => RegressionSupport.Describe(failures));
        TestContext.Out.WriteLine($"rentals {rentals}, successful disposes {successfulDisposes}");
        Assert.That(rentals, Is.GreaterThan(1000));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(successfulDisposes, Is.EqualTo(rentals), "rentals ended by a successful dispose");
            Assert.That(pool.Available, Is.EqualTo(1), "the buffer came back");
        }
    }
}

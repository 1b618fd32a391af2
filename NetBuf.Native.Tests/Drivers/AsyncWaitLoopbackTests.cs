using System.Diagnostics;
using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// Asynchronous waits over loopback drivers, which need no reactor (every OS): a hundred pending waits park no thread and
/// complete while every thread-pool thread is blocked; a steady-state wait allocates nothing; one wait at a time; the
/// wait set's async wait wakes on either driver, on <see cref="NetDriverWaitSet.Wake"/>, on a disposed driver and on
/// cancellation.
/// </summary>
/// <remarks>The tests hold <see cref="ValueTask{TResult}"/>s to look at them without awaiting (CA2012): each is consumed once.</remarks>
[NonParallelizable]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012:Use ValueTasks correctly", Justification = "Held to look at IsCompleted without a continuation; each is consumed once.")]
public sealed class AsyncWaitLoopbackTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    [Test]
    public void A_hundred_pending_waits_park_no_thread_and_complete_while_every_pool_thread_is_blocked()
    {
        const int Waits = 100;
        using var pool = new NetBufPool(1024, 2048);
        var pairs = new (LoopbackDriver Waiter, LoopbackDriver Sender)[Waits];
        for (int i = 0; i < Waits; i++)
        {
            pairs[i] = LoopbackDriver.CreatePair(pool, queueSize: 2);
            Assert.That(pairs[i].Waiter.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);
        }

        using var release = new ManualResetEventSlim(false);
        int blockersRunning = 0;
        int blockersDone = 0;
        int blockers = 0;
        try
        {
            // Block the pool: more blockers than it has threads, so some stay queued (the pool adds threads slowly when
            // starved, and each new one takes a blocker too). A wait that needed a pool thread could not complete now.
            blockers = ThreadPool.ThreadCount + Environment.ProcessorCount + 8;
            for (int i = 0; i < blockers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(
                    _ =>
                    {
                        Interlocked.Increment(ref blockersRunning);
                        release.Wait();
                        Interlocked.Increment(ref blockersDone);
                    },
                    null);
            }

            // Blockers still queued while some run: every pool thread is taken.
            Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref blockersRunning) > 0 && ThreadPool.PendingWorkItemCount > 0, Limit), Is.True, "the pool's threads are all blocked");
            int threadsBefore = ThreadPool.ThreadCount;

            var waits = new ValueTask<bool>[Waits];
            for (int i = 0; i < Waits; i++)
            {
                waits[i] = pairs[i].Waiter.WaitForReceiveAsync(Timeout.InfiniteTimeSpan);
            }

            Thread.Sleep(500);
            Assert.That(waits.Count(w => w.IsCompleted), Is.Zero, "nothing arrived yet");
            Assert.That(ThreadPool.ThreadCount - threadsBefore, Is.LessThan(Waits / 2), "a pending wait holds no pool thread");

            foreach ((LoopbackDriver _, LoopbackDriver sender) in pairs)
            {
                Assert.That(sender.TryTransmit(sender.AllocTxBuffer(60)), Is.True);
            }

            Assert.That(SpinWait.SpinUntil(() => waits.All(w => w.IsCompleted), Limit), Is.True, "every wait completed with the pool blocked");
            Assert.That(ThreadPool.PendingWorkItemCount, Is.GreaterThan(0), "blockers were still queued: no pool thread was free all along");
            Assert.That(waits.All(w => w.Result), Is.True);
            TestContext.Out.WriteLine($"pool threads {threadsBefore} -> {ThreadPool.ThreadCount}; blockers running {Volatile.Read(ref blockersRunning)} of {blockers}");
        }
        finally
        {
            // Every blocker leaves before the event is disposed.
            release.Set();
            Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref blockersDone) == blockers, TimeSpan.FromSeconds(60)), Is.True, "the blockers ran out");
        }

        foreach ((LoopbackDriver waiter, LoopbackDriver sender) in pairs)
        {
            Assert.That(waiter.TryReceive(out NetBufPtr frame), Is.True);
            pool.FreeBulk([frame]);
            waiter.Dispose();
            sender.Dispose();
        }

        Assert.That(pool.InUse, Is.Zero);
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void A_steady_state_wait_allocates_nothing(bool withTimeout, bool cancellable)
    {
        using var pool = new NetBufPool(64, 2048);
        (LoopbackDriver a, LoopbackDriver b) = LoopbackDriver.CreatePair(pool, queueSize: 8);
        using var cancel = new CancellationTokenSource();
        CancellationToken token = cancellable ? cancel.Token : CancellationToken.None;
        TimeSpan timeout = withTimeout ? TimeSpan.FromMinutes(1) : Timeout.InfiniteTimeSpan;
        Assert.That(a.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);

        void Cycle()
        {
            ValueTask<bool> wait = a.WaitForReceiveAsync(timeout, token);
            if (wait.IsCompleted)
            {
                Assert.Fail("the wait completed with nothing sent");
            }

            NetBufPtr tx = b.AllocTxBuffer(60);
            _ = b.TryTransmit(tx);
            if (!wait.IsCompleted || !wait.Result)
            {
                Assert.Fail("the peer's transmit completes the wait on its own thread");
            }

            _ = a.TryReceive(out NetBufPtr rx);
            _ = a.TryRecycleRxBuffer(rx);
            _ = b.RecycleTxBuffers();
        }

        for (int i = 0; i < 200; i++)
        {
            Cycle();
        }

        const int Cycles = 2000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Cycles; i++)
        {
            Cycle();
        }

        long perWait = (GC.GetAllocatedBytesForCurrentThread() - before) / Cycles;
        TestContext.Out.WriteLine($"timeout {withTimeout}, cancellable token {cancellable}: {perWait} bytes per wait");
        if (!cancellable)
        {
            Assert.That(perWait, Is.Zero, "a wait allocates nothing");
        }
        else
        {
            // The token source's registration node is the only allocation a wait may make (it reuses freed nodes).
            Assert.That(perWait, Is.LessThanOrEqualTo(128));
        }

        a.Dispose();
        b.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task One_wait_at_a_time_a_timeout_completes_it_and_the_next_wait_reuses_the_source()
    {
        using var pool = new NetBufPool(64, 2048);
        (LoopbackDriver a, LoopbackDriver b) = LoopbackDriver.CreatePair(pool, queueSize: 8);
        Assert.That(a.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);
        ValueTask<bool> first = a.WaitForReceiveAsync(TimeSpan.FromMilliseconds(300));
        Assert.That(() => a.WaitForReceiveAsync(Timeout.InfiniteTimeSpan), Throws.InvalidOperationException);
        var clock = Stopwatch.StartNew();
        Assert.That(await first.AsTask().WaitAsync(Limit), Is.False, "timed out");
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)));
        for (int i = 0; i < 3; i++)
        {
            ValueTask<bool> next = a.WaitForReceiveAsync(Limit);
            _ = Task.Run(() => b.TryTransmit(b.AllocTxBuffer(60)));
            Assert.That(await next, Is.True);
            Assert.That(a.TryReceive(out NetBufPtr frame), Is.True);
            Assert.That(a.TryRecycleRxBuffer(frame), Is.True);
            SpinWait.SpinUntil(() => b.RecycleTxBuffers() > 0, Limit);
        }

        a.Dispose();
        b.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task A_wait_sets_async_wait_wakes_on_either_driver_on_wake_on_a_disposed_driver_and_on_cancellation()
    {
        using var pool = new NetBufPool(128, 2048);
        (LoopbackDriver a, LoopbackDriver aPeer) = LoopbackDriver.CreatePair(pool, queueSize: 8);
        (LoopbackDriver b, LoopbackDriver bPeer) = LoopbackDriver.CreatePair(pool, queueSize: 8);
        foreach (LoopbackDriver driver in new[] { a, b })
        {
            Assert.That(driver.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);
        }

        using (var set = new NetDriverWaitSet(a, b))
        {
            Assert.That(await set.WaitForReceiveAsync(TimeSpan.Zero), Is.False, "looking only");
            var clock = Stopwatch.StartNew();
            Assert.That(await set.WaitForReceiveAsync(TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Limit), Is.False, "timed out");
            Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150)));

            foreach ((LoopbackDriver receiver, LoopbackDriver sender) in new[] { (a, aPeer), (b, bPeer) })
            {
                ValueTask<bool> wait = set.WaitForReceiveAsync(Timeout.InfiniteTimeSpan);
                Assert.That(wait.IsCompleted, Is.False);
                Assert.That(sender.TryTransmit(sender.AllocTxBuffer(60)), Is.True);
                Assert.That(await wait.AsTask().WaitAsync(Limit), Is.True, $"woken by {receiver.DeviceName}");
                Assert.That(receiver.TryReceive(out NetBufPtr frame), Is.True);
                Assert.That(receiver.TryRecycleRxBuffer(frame), Is.True);
                _ = sender.RecycleTxBuffers();
            }

            ValueTask<bool> woken = set.WaitForReceiveAsync(Timeout.InfiniteTimeSpan);
            _ = Task.Run(set.Wake);
            Assert.That(await woken.AsTask().WaitAsync(Limit), Is.True, "Wake ends a wait");
            set.Wake();
            Assert.That(await set.WaitForReceiveAsync(Limit).AsTask().WaitAsync(Limit), Is.True, "a wake-up before the wait is kept");

            using (var cancel = new CancellationTokenSource())
            {
                ValueTask<bool> cancelled = set.WaitForReceiveAsync(Timeout.InfiniteTimeSpan, cancel.Token);
                await cancel.CancelAsync();
                Assert.That(async () => await cancelled.AsTask().WaitAsync(Limit), Throws.InstanceOf<OperationCanceledException>());
            }

            ValueTask<bool> disposal = set.WaitForReceiveAsync(Timeout.InfiniteTimeSpan);
            await Task.Run(b.Dispose);
            Assert.That(await disposal.AsTask().WaitAsync(Limit), Is.True, "a disposed driver wakes the set (its next call says so)");
            Assert.That(() => b.TryReceive(out _), Throws.InstanceOf<NetDriverException>());
        }

        a.Dispose();
        aPeer.Dispose();
        bPeer.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }
}

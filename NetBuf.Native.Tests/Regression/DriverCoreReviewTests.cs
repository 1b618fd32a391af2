using NetBufNative.Drivers;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>Hostile review of the driver core (NetDriver) and the pool's hand-over: a fake device that misbehaves.</summary>
[NonParallelizable]
public sealed class DriverCoreReviewTests
{
    /// <summary>A device whose burst functions can be made to fail; it keeps every buffer it is given in lists.</summary>
    private sealed class FakeDevice(NetBufPool pool) : NetDriver(pool)
    {
        public readonly List<NetBufPtr> Posted = new();
        public readonly List<NetBufPtr> Sent = new();
        public readonly Queue<NetBufPtr> Arrived = new();
        public Func<int, Exception?>? PostFault;     // burst number -> exception thrown before keeping the buffers
        public Func<int, Exception?>? TransmitFault; // thrown after keeping the buffers (the driver owns them)
        public Func<int, Exception?>? ReceiveFault;  // thrown at the start of the n-th burst
        public Func<int, Exception?>? TakeHeldFault;
        public int ReceiveBurstLimit = int.MaxValue;
        private int _posts, _transmits, _receives, _takes;

        public override string DeviceName => "fake0";
        public override MacAddress MacAddress => new(2, 0, 0, 0, 0, 1);
        public override int RxQueueSize => 1024;
        public override int TxQueueSize => 1024;
        public override int HeldBuffers => Posted.Count + Sent.Count + Arrived.Count;
        protected override int RxRoom => 1024 - Posted.Count;
        protected override int TxRoom => 1024 - Sent.Count;
        protected override int ReceiveBurstSize => ReceiveBurstLimit;

        protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers)
        {
            if (PostFault?.Invoke(_posts++) is Exception e)
            {
                throw e;
            }

            Posted.AddRange(buffers.ToArray());
        }

        protected override int ReceiveBurst(Span<NetBufPtr> destination)
        {
            if (ReceiveFault?.Invoke(_receives++) is Exception e)
            {
                throw e;
            }

            int n = 0;
            while (n < destination.Length && Arrived.Count > 0)
            {
                destination[n++] = HandBack(Arrived.Dequeue());
            }

            return n;
        }

        protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames)
        {
            Sent.AddRange(frames.ToArray());
            if (TransmitFault?.Invoke(_transmits++) is Exception e)
            {
                throw e;
            }
        }

        protected override int TakeCompleted(Span<NetBufPtr> destination)
        {
            int n = Math.Min(destination.Length, Sent.Count);
            for (int i = 0; i < n; i++)
            {
                destination[i] = Sent[i];
            }

            Sent.RemoveRange(0, n);
            return n;
        }

        protected override bool HasReceived() => Arrived.Count > 0;

        protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken) => Arrived.Count > 0;

        protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken) => true;

        protected override void CloseDevice()
        {
        }

        protected override int TakeHeld(Span<NetBufPtr> destination)
        {
            if (TakeHeldFault?.Invoke(_takes++) is Exception e)
            {
                throw e;
            }

            int n = 0;
            while (n < destination.Length && Posted.Count > 0) { destination[n++] = Posted[0]; Posted.RemoveAt(0); }
            while (n < destination.Length && Sent.Count > 0) { destination[n++] = Sent[0]; Sent.RemoveAt(0); }
            while (n < destination.Length && Arrived.Count > 0) { destination[n++] = Arrived.Dequeue(); }
            return n;
        }

        /// <summary>Moves one posted buffer to the received queue, as a device that got a frame.</summary>
        public void Arrive()
        {
            Arrived.Enqueue(Posted[0]);
            Posted.RemoveAt(0);
        }
    }

    private static bool Restored(ref NetBuf b)
    {
        b.Dispose();
        return true;
    }

    private static NetBufPtr[] LendFrames(NetBufPool pool, int count)
    {
        var result = new NetBufPtr[count];
        for (int i = 0; i < count; i++)
        {
            NetBuf b = pool.Alloc();
            b.SetPacketLength(64);
            result[i] = b.IntoBufPtr();
        }

        return result;
    }

    /// <summary>
    /// Finding 1: RecycleRxBuffers has no handler around PostRxBurst. A device that throws there (here: on the second
    /// step of a 100-buffer post) makes the call throw after the first 64 buffers were taken, and the 36 buffers handed
    /// over in the failing step belong to nobody: the caller's copies are stale, the driver never recorded them, and
    /// Dispose cannot return them.
    /// </summary>
    [Test]
    public void A_post_whose_device_step_throws_takes_nothing_and_loses_nothing()
    {
        using var pool = new NetBufPool(256, 2048);
        var driver = new FakeDevice(pool) { PostFault = n => n == 1 ? new NetDriverException(NetDriverErrorKind.Io, "device fault") : null };
        NetBufPtr[] buffers = LendFrames(pool, 100);
        int taken = -1;
        Exception? thrown = null;
        try
        {
            taken = driver.RecycleRxBuffers(buffers);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        int staleCopies = buffers.Count(b => !pool.IsLent(b));
        driver.Dispose();
        foreach (NetBufPtr b in buffers)
        {
            _ = pool.TryFree(b);
        }

        Assert.Multiple(() =>
        {
            Assert.That(thrown is null || staleCopies == 0, Is.True,
                $"the call threw ({thrown?.GetType().Name}: {thrown?.Message}) although {staleCopies} buffers were taken (returned {taken})");
            Assert.That(pool.InUse, Is.Zero, "every buffer back in the pool after Dispose and the caller's frees");
        });
    }

    /// <summary>
    /// Finding 2: TransmitBatch defers only a NetDriverException from TransmitBurst. Any other exception (a device
    /// bug, an ObjectDisposedException from a torn-down resource, an IOException...) escapes after the frames were
    /// handed over: the caller gets an exception though the frames were taken (its copies are stale).
    /// </summary>
    [Test]
    public void A_transmit_burst_failing_with_another_exception_type_still_reports_the_count()
    {
        using var pool = new NetBufPool(256, 2048);
        var driver = new FakeDevice(pool) { TransmitFault = _ => new InvalidOperationException("device fault") };
        NetBufPtr[] frames = LendFrames(pool, 4);
        int taken = -1;
        Exception? thrown = null;
        try
        {
            taken = driver.TransmitBatch(frames);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        int stale = frames.Count(f => !pool.IsLent(f));
        driver.Dispose();
        Assert.That(thrown, Is.Null, $"threw {thrown?.GetType().Name} after taking {stale} frames (promise: an exception means nothing was taken)");
        Assert.That(taken, Is.EqualTo(4));
    }

    /// <summary>
    /// Finding 3: ReceiveBatch catches only NetDriverException from a later burst. A device whose second burst throws
    /// anything else makes the call throw with the first burst's frames already handed to the caller's span: they
    /// are lost (the caller cannot know how many there were, and the driver no longer holds them).
    /// </summary>
    [Test]
    public void A_receive_burst_failing_with_another_exception_type_after_frames_were_taken_returns_the_count()
    {
        using var pool = new NetBufPool(256, 2048);
        var driver = new FakeDevice(pool)
        {
            ReceiveBurstLimit = 2,
            ReceiveFault = n => n == 1 ? new IOException("device fault") : null,
        };
        Assert.That(driver.RecycleRxBuffers(LendFrames(pool, 4)), Is.EqualTo(4));
        driver.Arrive();
        driver.Arrive();
        driver.Arrive();
        var batch = new NetBufPtr[8];
        int received = -1;
        Exception? thrown = null;
        try
        {
            received = driver.ReceiveBatch(batch);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        driver.Dispose();
        int lost = pool.InUse;
        foreach (NetBufPtr b in batch)
        {
            _ = pool.TryFree(b);
        }

        Assert.That(thrown, Is.Null, $"threw {thrown?.GetType().Name} with {lost} frames in the caller's span (lost to a caller that trusts the exception)");
        Assert.That(received, Is.EqualTo(2));
    }

    /// <summary>
    /// Finding 4: Dispose stops returning buffers at the first exception of TakeHeld ("break"), so a device whose
    /// TakeHeld fails once strands every buffer not yet taken, although Dispose promises to return every one.
    /// </summary>
    [Test]
    public void Dispose_returns_every_buffer_even_when_taking_held_ones_fails_once()
    {
        using var pool = new NetBufPool(256, 2048);
        var driver = new FakeDevice(pool) { TakeHeldFault = n => n == 0 ? new InvalidOperationException("transient") : null };
        Assert.That(driver.RecycleRxBuffers(LendFrames(pool, 10)), Is.EqualTo(10));
        Assert.DoesNotThrow(driver.Dispose);
        Assert.That(pool.InUse, Is.Zero, "buffers stranded by Dispose");
    }

    /// <summary>Held: a pending error is thrown by the next call and WaitForReceive says ready while one is pending.</summary>
    [Test]
    public void A_deferred_transmit_error_is_thrown_once_by_the_next_call()
    {
        using var pool = new NetBufPool(256, 2048);
        var driver = new FakeDevice(pool) { TransmitFault = n => n == 0 ? new NetDriverException(NetDriverErrorKind.Io, "late") : null };
        Assert.That(driver.TransmitBatch(LendFrames(pool, 3)), Is.EqualTo(3));
        Assert.That(driver.WaitForReceive(TimeSpan.Zero), Is.True);
        Assert.Throws<NetDriverException>(() => driver.ReceiveBatch(new NetBufPtr[2]));
        Assert.That(driver.ReceiveBatch(new NetBufPtr[2]), Is.Zero);
        driver.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }

    /// <summary>Held: copies of one pointer raced (hand over vs restore vs free vs second post vs transmit): exactly one wins.</summary>
    [Test]
    public void Copies_raced_across_threads_have_exactly_one_winner()
    {
        using var pool = new NetBufPool(64, 2048);
        var d1 = new FakeDevice(pool);
        var d2 = new FakeDevice(pool);
        const int Rounds = 5000;
        NetBufPtr p = default;
        int wins = 0;
        using var start = new Barrier(5);
        using var end = new Barrier(5);
        Action<int> racer = k =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                start.SignalAndWait();
                bool won = false;
                try
                {
                    won = k switch
                    {
                        0 => d1.TryRecycleRxBuffer(p),
                        1 => d2.TryTransmit(p),
                        2 => pool.TryFree(p),
                        _ => pool.TryFromBufPtr(p, out NetBuf b) && Restored(ref b),
                    };
                }
                catch (NetDriverException)
                {
                }

                if (won)
                {
                    Interlocked.Increment(ref wins);
                }

                end.SignalAndWait();
            }
        };
        var threads = Enumerable.Range(0, 4).Select(k => new Thread(() => racer(k))).ToArray();
        foreach (Thread t in threads) t.Start();
        for (int round = 0; round < Rounds; round++)
        {
            p = LendFrames(pool, 1)[0];
            wins = 0;
            start.SignalAndWait();
            end.SignalAndWait();
            Assert.That(wins, Is.EqualTo(1), $"round {round}");
            _ = d2.RecycleTxBuffers();
            foreach (NetBufPtr q in d1.Posted)
            {
                Assert.That(pool.TryFree(q), Is.True);
            }

            d1.Posted.Clear();
            Assert.That(pool.InUse, Is.Zero, $"round {round}");
        }

        foreach (Thread t in threads) t.Join();
        d1.Dispose();
        d2.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }
}

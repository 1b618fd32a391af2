using System.Diagnostics;
using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// <see cref="NetDriver.WaitForReceiveAsync"/> on every driver (loopback, and TAP, AF_PACKET, AF_XDP in namespaces the rig
/// makes): a frame completes a pending wait, an idle one times out, cancellation before and during a wait throws and leaves
/// the driver working, disposal during a wait ends it with BadState, and a deleted interface ends a long wait with BadState.
/// </summary>
[TestFixtureSource(typeof(ConformanceRig), nameof(ConformanceRig.Kinds))]
[NonParallelizable]
public sealed class AsyncWaitConformanceTests(string kind)
{
    /// <summary>How long a test lets a wait take to complete: the wait itself takes milliseconds; the bound only ends a broken test on a busy 2-core machine.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    private ConformanceRig _rig = null!;

    private NetDriver Driver => (NetDriver)_rig.Driver;

    [SetUp]
    public void SetUp() => _rig = ConformanceRig.Create(kind);

    [TearDown]
    public void TearDown() => _rig?.Dispose();

    [Test]
    public async Task A_pending_wait_completes_when_a_frame_arrives()
    {
        _rig.Post(8);
        Task<bool> wait = await PendingWaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        _rig.Inject(ConformanceRig.Frame(100, 3));
        Assert.That(await wait.WaitAsync(Limit), Is.True, "the frame completed the wait");
        NetBufPtr frame = _rig.ReceiveTestFrame();
        Assert.That(frame.Packet[20], Is.EqualTo((byte)(3 + 20)));
        _rig.Pool.FromBufPtr(frame).Dispose();
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public async Task An_idle_wait_times_out_and_looking_only_returns_at_once()
    {
        _rig.Post(8);
        Assert.That(await Driver.WaitForReceiveAsync(TimeSpan.Zero), Is.False, "looking only");
        var clock = Stopwatch.StartNew();
        bool timedOut = false;
        for (int attempt = 0; attempt < 5 && !timedOut; attempt++)
        {
            // A stray frame of the kernel's may end a wait early: take it and wait again.
            clock.Restart();
            timedOut = !await Driver.WaitForReceiveAsync(TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Limit);
            DrainAndRepost();
        }

        Assert.That(timedOut, Is.True, "an idle wait returned false");
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150)), "it waited the timeout out (within a tick)");
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public async Task Without_a_posted_buffer_a_wait_returns_false_at_once_as_the_synchronous_one()
    {
        if (kind == "loopback")
        {
            Assert.Pass("a loopback end receives into buffers its peer's transmit finds; its wait waits as the synchronous one");
        }

        Assert.That(await Driver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan).AsTask().WaitAsync(Limit), Is.False);
    }

    [Test]
    public async Task Cancellation_before_and_during_a_wait_throws_and_the_driver_still_works()
    {
        _rig.Post(8);
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.That(async () => await Driver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        }

        using (var cancel = new CancellationTokenSource())
        {
            Task<bool> wait = await PendingWaitAsync(Timeout.InfiniteTimeSpan, cancel.Token);
            cancel.Cancel();
            Assert.That(async () => await wait.WaitAsync(Limit), Throws.InstanceOf<OperationCanceledException>());
        }

        // The driver still receives, and a new wait completes.
        _rig.Inject(ConformanceRig.Frame(90, 4));
        Assert.That(await Driver.WaitForReceiveAsync(Limit).AsTask().WaitAsync(Limit), Is.True);
        NetBufPtr frame = _rig.ReceiveTestFrame();
        _rig.Pool.FromBufPtr(frame).Dispose();
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public async Task Disposal_during_a_wait_ends_it_with_bad_state_at_once()
    {
        _rig.Post(8);
        Task<bool> wait = await PendingWaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        await Task.Run(Driver.Dispose);
        var error = Assert.ThrowsAsync<NetDriverException>(async () => await wait.WaitAsync(Limit));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(clock.Elapsed, Is.LessThan(Limit), "woken by the disposal, not by a timeout");
        Assert.That(_rig.Pool.InUse - _rig.PeerHeld, Is.Zero, "every buffer is back");
        Assert.That(() => Driver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan), Throws.InstanceOf<NetDriverException>(), "a disposed driver's wait throws");
    }

    [Test]
    public async Task A_deleted_interface_ends_a_long_wait_with_bad_state_within_a_second()
    {
        if (!_rig.HasInterface)
        {
            Assert.Pass("the loopback driver has no interface to delete");
        }

        _rig.Post(8);
        Task<bool> wait = await PendingWaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        _rig.DeleteInterface();

        // The kernel takes an interface down before it unregisters it: a packet socket's error wakes the wait while the
        // socket may still be bound, so the wait may end "a frame may be waiting" (its contract) and the next call report
        // the interface down; from the unregistration on, every call says it is gone. A loop that receives after each
        // wake meets BadState within the limit either way, and "gone" at the latest one call later.
        NetDriverException? error = null;
        var batch = new NetBufPtr[8];
        for (int round = 0; round < 20 && error is null && clock.Elapsed < Limit; round++)
        {
            try
            {
                _ = await wait.WaitAsync(Limit);
                int n = Driver.ReceiveBatch(batch);
                _rig.Pool.FreeBulk(batch.AsSpan(0, n));
                wait = Driver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan).AsTask();
            }
            catch (NetDriverException e)
            {
                error = e;
            }
        }

        TestContext.Out.WriteLine($"{kind}: BadState {clock.Elapsed.TotalMilliseconds:0} ms after the deletion: {error?.Message}");
        Assert.That(error, Is.Not.Null, "the deletion was reported");
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.BadState), error.Message);
        Assert.That(clock.Elapsed, Is.LessThan(Limit));
        if (!error.Message.Contains("gone", StringComparison.Ordinal))
        {
            var later = Assert.ThrowsAsync<NetDriverException>(async () => await Driver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan).AsTask().WaitAsync(Limit));
            Assert.That(later!.Message, Does.Contain("gone"), "after the report of the interface down, the next call says it is gone");
        }

        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public async Task A_wait_set_over_the_driver_and_a_loopback_pair_wakes_on_the_drivers_frame()
    {
        _rig.Post(8);
        using var pool = new NetBufPool(32, 2048);
        (LoopbackDriver other, LoopbackDriver otherPeer) = LoopbackDriver.CreatePair(pool, queueSize: 4);
        try
        {
            using var set = new NetDriverWaitSet(Driver, other);
            bool woken = false;
            for (int attempt = 0; attempt < 10 && !woken; attempt++)
            {
                _rig.Inject(ConformanceRig.Frame(80, 5));
                woken = await set.WaitForReceiveAsync(Limit).AsTask().WaitAsync(Limit);
            }

            Assert.That(woken, Is.True, "the driver's frame woke the set");
            NetBufPtr frame = _rig.ReceiveTestFrame();
            _rig.Pool.FromBufPtr(frame).Dispose();
            DrainAndRepost();
        }
        finally
        {
            other.Dispose();
            otherPeer.Dispose();
        }

        _rig.AssertAllBackAfterDispose();
    }

    /// <summary>Starts a wait that is still pending 100 ms later (a stray frame that ends one early is taken, and the wait started again).</summary>
    private async Task<Task<bool>> PendingWaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            Task<bool> wait = Driver.WaitForReceiveAsync(timeout, cancellationToken).AsTask();
            await Task.Delay(100, CancellationToken.None);
            if (!wait.IsCompleted)
            {
                return wait;
            }

            Assert.That(await wait, Is.True, "a wait without a limit ends only when something arrives");
            DrainAndRepost();
        }

        Assert.Fail("no wait stayed pending: frames kept arriving");
        return null!;
    }

    private void DrainAndRepost()
    {
        while (Driver.TryReceive(out NetBufPtr stray))
        {
            Assert.That(Driver.TryRecycleRxBuffer(stray), Is.True);
        }
    }
}

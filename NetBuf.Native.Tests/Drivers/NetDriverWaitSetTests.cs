using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary><see cref="NetDriverWaitSet"/> over loopback ends: wakes on either driver, on Wake, on disposal and on cancellation; times out otherwise.</summary>
public sealed class NetDriverWaitSetTests
{
    private NetBufPool _pool = null!;
    private LoopbackDriver _a = null!;
    private LoopbackDriver _aPeer = null!;
    private LoopbackDriver _b = null!;
    private LoopbackDriver _bPeer = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(256, 2048);
        (_a, _aPeer) = LoopbackDriver.CreatePair(_pool, 8);
        (_b, _bPeer) = LoopbackDriver.CreatePair(_pool, 8);
        foreach (LoopbackDriver driver in new[] { _a, _b })
        {
            for (int i = 0; i < 4; i++)
            {
                Assert.That(driver.TryRecycleRxBuffer(_pool.Alloc().IntoBufPtr()), Is.True);
            }
        }
    }

    [TearDown]
    public void TearDown()
    {
        _a.Dispose();
        _aPeer.Dispose();
        _b.Dispose();
        _bPeer.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
        _pool.Dispose();
    }

    [Test]
    public void An_idle_set_times_out_and_looking_only_returns_at_once()
    {
        using var set = new NetDriverWaitSet(_a, _b);
        Assert.That(set.Drivers, Is.EqualTo(new INetDriver[] { _a, _b }));
        Assert.That(set.WaitForReceive(TimeSpan.Zero), Is.False);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.That(set.WaitForReceive(TimeSpan.FromMilliseconds(150)), Is.False);
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(140)), "it waited the timeout out");
    }

    [TestCase(0)]
    [TestCase(1)]
    public void A_sleeping_set_wakes_when_either_driver_receives(int which)
    {
        using var set = new NetDriverWaitSet(_a, _b);
        LoopbackDriver sender = which == 0 ? _aPeer : _bPeer;
        var wait = Task.Run(() => set.WaitForReceive(Timeout.InfiniteTimeSpan));
        Thread.Sleep(50);
        Assert.That(wait.IsCompleted, Is.False, "asleep with nothing to receive");
        Assert.That(sender.TryTransmit(sender.AllocTxBuffer(60)), Is.True);
        Assert.That(wait.Wait(TimeSpan.FromSeconds(5)), Is.True, "woken by the frame");
        Assert.That(wait.Result, Is.True);
        Assert.That(set.WaitForReceive(TimeSpan.Zero), Is.True, "the frame is still waiting");
        Assert.That((which == 0 ? _a : _b).TryReceive(out NetBufPtr frame), Is.True);
        _pool.FreeBulk([frame]);
        _ = sender.RecycleTxBuffers();
    }

    [Test]
    public void Wake_from_another_thread_ends_a_wait_and_a_wake_before_the_wait_is_kept()
    {
        using var set = new NetDriverWaitSet(_a);
        var wait = Task.Run(() => set.WaitForReceive(Timeout.InfiniteTimeSpan));
        Thread.Sleep(50);
        set.Wake();
        Assert.That(wait.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(wait.Result, Is.True);

        set.Wake();
        Assert.That(set.WaitForReceive(TimeSpan.FromSeconds(5)), Is.True, "a wake-up before the wait ends it at once");
        Assert.That(set.WaitForReceive(TimeSpan.Zero), Is.False, "and is used up");
    }

    [Test]
    public void Cancellation_ends_a_wait_with_operation_canceled()
    {
        using var set = new NetDriverWaitSet(_a, _b);
        using var cancel = new CancellationTokenSource();
        var wait = Task.Run(() => set.WaitForReceive(Timeout.InfiniteTimeSpan, cancel.Token));
        Thread.Sleep(50);
        cancel.Cancel();
        var error = Assert.Throws<AggregateException>(() => wait.Wait(TimeSpan.FromSeconds(5)));
        Assert.That(error!.InnerException, Is.InstanceOf<OperationCanceledException>());
        Assert.Throws<OperationCanceledException>(() => set.WaitForReceive(TimeSpan.Zero, cancel.Token));
    }

    [Test]
    public void A_driver_disposed_during_a_wait_wakes_it()
    {
        using var set = new NetDriverWaitSet(_a, _b);
        var wait = Task.Run(() => set.WaitForReceive(Timeout.InfiniteTimeSpan));
        Thread.Sleep(50);
        _b.Dispose();
        Assert.That(wait.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(wait.Result, Is.True, "its next call says it is disposed");
        Assert.That(set.WaitForReceive(TimeSpan.FromSeconds(5)), Is.True, "and so does every later wait, at once");
    }

    [Test]
    public void A_driver_of_another_kind_is_looked_at_in_short_slices_beside_the_others()
    {
        // A wrapper (not derived from NetDriver) has no descriptor the set can poll: it is asked CanReceive every slice.
        using var stream = new MemoryStream();
        using var writer = new NetBufNative.Capture.PcapWriter(stream, leaveOpen: true);
        using var wrapped = new NetBufNative.Capture.CapturingDriver(_b, writer);
        using var set = new NetDriverWaitSet(_a, wrapped);
        Assert.That(set.WaitForReceive(TimeSpan.FromMilliseconds(20)), Is.False, "nothing on either");
        var wait = Task.Run(() => set.WaitForReceive(TimeSpan.FromSeconds(5)));
        Thread.Sleep(50);
        Assert.That(_bPeer.TryTransmit(_bPeer.AllocTxBuffer(60)), Is.True);
        Assert.That(wait.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(wait.Result, Is.True, "the wrapped driver's frame was seen within a slice");
        Assert.That(wrapped.TryReceive(out NetBufPtr frame), Is.True);
        _pool.FreeBulk([frame]);
        _ = _bPeer.RecycleTxBuffers();
    }

    [Test]
    public void Bad_arguments_and_use_after_dispose_throw()
    {
        Assert.Throws<ArgumentException>(() => new NetDriverWaitSet());
        Assert.Throws<ArgumentException>(() => new NetDriverWaitSet(_a, _a));
        Assert.Throws<ArgumentException>(() => new NetDriverWaitSet(_a, null!));
        var set = new NetDriverWaitSet(_a);
        Assert.Throws<ArgumentOutOfRangeException>(() => set.WaitForReceive(TimeSpan.FromMilliseconds(-2)));
        set.Dispose();
        set.Dispose();
        Assert.Throws<ObjectDisposedException>(() => set.WaitForReceive(TimeSpan.Zero));
        set.Wake();
    }
}

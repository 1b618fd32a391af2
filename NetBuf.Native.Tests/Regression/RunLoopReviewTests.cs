using NetBufNative.Drivers;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// <see cref="PacketLoop"/> used as a hostile caller would: stopped the moment it is started, disposed while a run on the
/// caller's thread is in progress. Loopback ports; every loop and wait is bounded.
/// </summary>
public sealed class RunLoopReviewTests
{
    private const int Queue = 16;

    private NetBufPool _pool = null!;
    private LoopbackDriver _host = null!;
    private LoopbackDriver _port = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(256, 2048, new NetBufPoolOptions { Name = "run-loop-review" });
        (_host, _port) = LoopbackDriver.CreatePair(_pool, Queue);
    }

    [TearDown]
    public void TearDown()
    {
        _host.Dispose();
        _port.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "every buffer is back once the drivers are disposed");
        _pool.Dispose();
    }

    /// <summary>
    /// <see cref="PacketLoop.Stop"/> right after <see cref="PacketLoop.Start"/> returned is a stop of the run Start began: the
    /// run's thread must not forget it when it gets going (it used to clear the request as it entered the run, so a Stop
    /// that came first was lost and the run slept for ever).
    /// </summary>
    [Test]
    public void A_stop_right_after_start_ends_the_run_it_began()
    {
        for (int attempt = 0; attempt < 40; attempt++)
        {
            var loop = new PacketLoop([_port], _ => { }, new PacketLoopOptions { PollingMode = PollingMode.Blocking });
            Task run = loop.Start();
            loop.Stop();
            bool ended = ((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            if (!ended)
            {
                // Let the lost run go (a disposed port ends it with BadState) before failing.
                _port.Dispose();
                _ = ((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            }

            Assert.That(ended, Is.True, $"attempt {attempt}: the Stop that followed Start ended its run");
            Assert.That(run.IsCompletedSuccessfully, Is.True, run.Exception?.ToString());
            loop.Dispose();
        }
    }
    /// <summary>
    /// A loop disposed while <see cref="PacketLoop.Run"/> sleeps on another thread (not a run of Start, so Dispose has no
    /// Completion to wait for) still releases its wait set, and with it the eventfd: it used to be left open for good.
    /// </summary>
    [Test]
    public void Dispose_during_a_run_on_the_callers_thread_releases_the_wait_set_when_the_run_ends()
    {
        var loop = new PacketLoop([_port], _ => { }, new PacketLoopOptions { PollingMode = PollingMode.Blocking });
        Exception? failure = null;
        var run = new Thread(() =>
        {
            try
            {
                loop.Run();
            }
            catch (Exception error)
            {
                failure = error;
            }
        })
        {
            IsBackground = true,
        };
        run.Start();
        Assert.That(SpinWait.SpinUntil(() => loop.WaitSetIfMade is not null, TimeSpan.FromSeconds(10)), Is.True, "the idle run went to sleep");
        NetDriverWaitSet waitSet = loop.WaitSetIfMade!;
        loop.Dispose();
        Assert.That(run.Join(TimeSpan.FromSeconds(10)), Is.True, "Dispose stopped the run");
        Assert.That(failure, Is.Null);
        Assert.That(waitSet.IsDisposed, Is.True, "the wait set (its eventfd) was released once the run ended");
    }
    /// <summary>
    /// A handler that keeps the <see cref="PacketBatch"/> and calls <see cref="PacketBatch.Send"/> after its
    /// <see cref="IPacketHandler.OnReceived"/> returned hands the loop a frame it will never carry out (the next batch
    /// forgets it): the call must be refused with nothing taken, not accepted and the buffer lost.
    /// </summary>
    [Test]
    public void Send_on_a_batch_after_the_handler_returned_is_refused_and_takes_nothing()
    {
        PacketBatch? kept = null;
        using var loop = new PacketLoop([_port], batch => kept = batch, new PacketLoopOptions { PollingMode = PollingMode.Blocking });
        _ = loop.RunOnce();
        for (int i = 0; i < Queue; i++)
        {
            Assert.That(_host.TryRecycleRxBuffer(_pool.Alloc().IntoBufPtr()), Is.True);
        }

        NetBufPtr frame = _host.AllocTxBuffer(60);
        Assert.That(_host.TryTransmit(frame), Is.True);
        Assert.That(loop.RunOnce(), Is.EqualTo(1));
        Assert.That(kept, Is.Not.Null);

        NetBufPtr late = _port.AllocTxBuffer(60);
        Assert.Throws<InvalidOperationException>(() => kept!.Send(late, 0), "the batch is over: nothing was taken");
        Assert.That(_pool.TryFree(late), Is.True, "the buffer is still the caller's");
        _ = loop.RunOnce();
        Assert.That(_host.RecycleTxBuffers() + _port.RecycleTxBuffers(), Is.GreaterThanOrEqualTo(0));
        Assert.That(_pool.InUse, Is.EqualTo(_host.HeldBuffers + _port.HeldBuffers), "the loop holds nothing between turns");
    }
}

using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// The conformance suite's device faults, on the drivers of a real interface (TAP, AF_PACKET, AF_XDP): the interface
/// deleted, set down or given a smaller MTU while the driver uses it. Every call then throws a
/// <see cref="NetDriverException"/> or returns counts (an exception: nothing taken), an infinite wait ends, and every
/// buffer is back in the pool once the driver is disposed.
/// </summary>
[TestFixtureSource(typeof(ConformanceRig), nameof(ConformanceRig.InterfaceKinds))]
[NonParallelizable]
public sealed class DriverFaultTests(string kind)
{
    private ConformanceRig _rig = null!;

    private INetDriver Driver => _rig.Driver;

    private NetBufPool Pool => _rig.Pool;

    [SetUp]
    public void SetUp() => _rig = ConformanceRig.Create(kind);

    [TearDown]
    public void TearDown() => _rig?.Dispose();

    [Test]
    public void A_deleted_interface_ends_an_infinite_wait_and_every_call_after_it_throws_or_returns_counts()
    {
        _rig.Post(16);
        NetBufPtr tx = _rig.AllocFrame(ConformanceRig.Frame(64, 10));
        Assert.That(Driver.TryTransmit(tx), Is.True);
        _rig.DeleteInterface();
        var ended = Task.Run(() => Driver.WaitForReceive(Timeout.InfiniteTimeSpan));
        Assert.That(((IAsyncResult)ended).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)), Is.True, "the wait ended within 5 s");
        NetDriverException? seen = ended.Exception?.InnerException as NetDriverException;
        var batch = new NetBufPtr[8];
        for (int i = 0; i < 4 && seen is null; i++)
        {
            try
            {
                int n = Driver.ReceiveBatch(batch);
                for (int j = 0; j < n; j++)
                {
                    Pool.FreeBulk([batch[j]]);
                }

                seen = TransmitOrFree(_rig.AllocFrame(ConformanceRig.Frame(64, 11)));
            }
            catch (NetDriverException e)
            {
                seen = e;
            }
        }

        Assert.That(seen, Is.Not.Null, "the driver reported the lost device");
        Assert.That(seen!.Kind, Is.Not.EqualTo(NetDriverErrorKind.InvalidParam), seen.Message);
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void Once_a_deleted_interface_is_reported_every_later_receive_wait_and_transmit_says_it_is_gone()
    {
        _rig.Post(16);
        _rig.DeleteInterface();
        var batch = new NetBufPtr[8];
        NetDriverException? first = null;
        for (int i = 0; i < 50 && first is null; i++)
        {
            try
            {
                _ = Driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
                Assert.That(Driver.ReceiveBatch(batch), Is.Zero, "no frame arrives on a deleted interface");
            }
            catch (NetDriverException e)
            {
                first = e;
            }
        }

        Assert.That(first, Is.Not.Null, "the deletion was reported within 50 waits of 100 ms");

        // The report is not one-shot: a loop that met it once (and, say, logged it) must not then wait forever.
        for (int round = 0; round < 3; round++)
        {
            var wait = Task.Run(() => Driver.WaitForReceive(Timeout.InfiniteTimeSpan));
            Assert.That(((IAsyncResult)wait).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)), Is.True, "an infinite wait after the report ends");
            AssertGone(wait.Exception?.InnerException, "the wait");
            AssertGone(Catch(() => Driver.ReceiveBatch(batch)), "a receive");
            NetBufPtr tx = _rig.AllocFrame(ConformanceRig.Frame(64, 14));
            NetDriverException? sent = TransmitOrFree(tx);
            if (sent is null)
            {
                // Taken: a transmit may queue the frame; the device's refusal then comes with the next call.
                sent = Catch(() => Driver.RecycleTxBuffers()) as NetDriverException ?? TransmitOrFree(_rig.AllocFrame(ConformanceRig.Frame(64, 15)));
            }

            AssertGone(sent, "a transmit");
        }

        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void A_transmit_on_an_interface_set_down_takes_the_frames_or_throws_and_loses_none()
    {
        _rig.Post(16);
        _rig.SetDown();
        int errors = 0;
        for (int i = 0; i < 20; i++)
        {
            errors += TransmitOrFree(_rig.AllocFrame(ConformanceRig.Frame(64, 12))) is null ? 0 : 1;

            try
            {
                _ = Driver.RecycleTxBuffers();
            }
            catch (NetDriverException)
            {
                errors++;
            }
        }

        TestContext.Out.WriteLine($"{errors} errors reported while down");
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void A_frame_larger_than_a_lowered_mtu_is_refused_or_dropped_without_a_leak()
    {
        _rig.SetMtu(600);
        int errors = 0;
        for (int i = 0; i < 4; i++)
        {
            errors += TransmitOrFree(_rig.AllocFrame(ConformanceRig.Frame(1000, 13))) is null ? 0 : 1;
        }

        TestContext.Out.WriteLine($"{errors} errors reported");
        _rig.AssertAllBackAfterDispose();
    }

    private static Exception? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static void AssertGone(Exception? error, string call)
    {
        Assert.That(error, Is.TypeOf<NetDriverException>(), $"{call} after the report throws NetDriverException: {error}");
        Assert.That(((NetDriverException)error!).Kind, Is.EqualTo(NetDriverErrorKind.BadState), $"{call}: {error!.Message}");
        Assert.That(error.Message, Does.Contain("gone"), call);
    }

    /// <summary>Transmits one frame; what the driver did not take (an exception: nothing taken, checked) goes back to the pool.</summary>
    /// <returns>The exception the call threw, or null.</returns>
    private NetDriverException? TransmitOrFree(NetBufPtr tx)
    {
        try
        {
            if (Driver.TransmitBatch([tx]) == 0)
            {
                Pool.FreeBulk([tx]);
            }

            return null;
        }
        catch (NetDriverException e)
        {
            Assert.That(Pool.IsLent(tx), Is.True, "an exception: nothing was taken");
            Pool.FreeBulk([tx]);
            return e;
        }
    }
}

using NetBufNative.Drivers;
using NetBufNative.Tests.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>Hostile review of the Linux drivers on the driver core: a real interface whose MTU is lowered mid-run.</summary>
[TestFixtureSource(typeof(ConformanceRig), nameof(ConformanceRig.InterfaceKinds))]
[NonParallelizable]
public sealed class DriverDeviceReviewTests(string kind)
{
    private ConformanceRig _rig = null!;

    [SetUp]
    public void SetUp() => _rig = ConformanceRig.Create(kind);

    [TearDown]
    public void TearDown() => _rig?.Dispose();

    /// <summary>
    /// Frames accepted for transmission must complete (sent or dropped, and recycled): a driver whose accepted
    /// frames never complete loses transmit room for ever and stops transmitting although the interface works.
    /// </summary>
    [Test]
    public void Frames_over_a_lowered_mtu_complete_and_the_driver_keeps_transmitting()
    {
        var driver = (NetDriver)_rig.Driver;
        _rig.SetMtu(600);
        int accepted = 0, errors = 0;
        for (int i = 0; i < 3 * driver.TxQueueSize; i++)
        {
            NetBufPtr tx = driver.AllocTxBuffer(1000);
            ConformanceRig.Frame(1000, 3).CopyTo(tx.Packet);
            try
            {
                if (driver.TryTransmit(tx))
                {
                    accepted++;
                }
                else
                {
                    _rig.Pool.FreeBulk([tx]);
                }

                _ = driver.RecycleTxBuffers();
            }
            catch (NetDriverException)
            {
                errors++;
                if (_rig.Pool.IsLent(tx))
                {
                    _rig.Pool.FreeBulk([tx]);
                }
            }
        }

        Thread.Sleep(200);
        try
        {
            _ = driver.RecycleTxBuffers();
        }
        catch (NetDriverException)
        {
            errors++;
        }

        TestContext.Out.WriteLine($"{kind}: {accepted} accepted, {errors} errors, {driver.TxDropped} counted dropped, {driver.HeldBuffers} still held");
        Assert.That(driver.HeldBuffers, Is.Zero, "every accepted frame completed and was recycled");

        // A valid frame still goes.
        NetBufPtr ok = driver.AllocTxBuffer(64);
        ConformanceRig.Frame(64, 4).CopyTo(ok.Packet);
        bool sent;
        try
        {
            sent = driver.TryTransmit(ok);
        }
        catch (NetDriverException)
        {
            sent = driver.TryTransmit(ok);
        }

        Assert.That(sent, Is.True, "the driver still takes a small frame");
    }
}

using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

/// <summary><see cref="MacSwapReflector"/> and <see cref="L2Forwarder"/> over loopback ports: every frame comes back byte for
/// byte with its addresses swapped, or leaves on the partner port unchanged.</summary>
public sealed class MacSwapReflectorTests
{
    private NetBufPool _pool = null!;
    private LoopbackDriver _host = null!;
    private LoopbackDriver _port = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(512, 2048, new NetBufPoolOptions { Name = "reflector" });
        (_host, _port) = LoopbackDriver.CreatePair(_pool, 32);
        for (int i = 0; i < 32; i++)
        {
            Assert.That(_host.TryRecycleRxBuffer(_pool.Alloc().IntoBufPtr()), Is.True);
        }
    }

    [TearDown]
    public void TearDown()
    {
        _host.Dispose();
        _port.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
        _pool.Dispose();
    }

    [Test]
    public void Swapping_exchanges_the_two_addresses_and_nothing_else()
    {
        byte[] frame = [.. Enumerable.Range(1, 20).Select(i => (byte)i)];
        Assert.That(MacSwapReflector.TrySwapAddresses(frame), Is.True);
        Assert.That(frame, Is.EqualTo(new byte[] { 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 13, 14, 15, 16, 17, 18, 19, 20 }));
        byte[] runt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        Assert.That(MacSwapReflector.TrySwapAddresses(runt), Is.False);
        Assert.That(runt, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }), "unchanged");
    }

    [Test]
    public void Every_frame_comes_back_byte_for_byte_with_its_addresses_swapped()
    {
        using PacketLoop loop = MacSwapReflector.CreateLoop(_port);
        _ = loop.RunOnce();
        var random = new Random(3);
        var sent = new List<byte[]>();
        for (int i = 0; i < 24; i++)
        {
            NetBufPtr frame = _host.AllocTxBuffer(60 + random.Next(1400));
            random.NextBytes(frame.Packet);
            sent.Add(frame.Packet.ToArray());
            Assert.That(_host.TryTransmit(frame), Is.True);
        }

        Assert.That(loop.RunOnce(), Is.EqualTo(24));
        var back = new List<byte[]>();
        while (_host.TryReceive(out NetBufPtr frame))
        {
            back.Add(frame.PacketWithHeader.ToArray());
            _pool.FreeBulk([frame]);
        }

        Assert.That(back, Has.Count.EqualTo(24));
        for (int i = 0; i < 24; i++)
        {
            byte[] expected = sent[i];
            Assert.That(MacSwapReflector.TrySwapAddresses(expected), Is.True);
            Assert.That(back[i], Is.EqualTo(expected), $"frame {i}");
        }

        Assert.That(loop.Counters[0].Transmitted, Is.EqualTo(24));
        _ = _host.RecycleTxBuffers();
    }

    [Test]
    public void A_forwarder_sends_each_ports_frames_on_its_partner_and_refuses_an_unpaired_port()
    {
        (LoopbackDriver otherHost, LoopbackDriver otherPort) = LoopbackDriver.CreatePair(_pool, 16);
        try
        {
            using PacketLoop loop = L2Forwarder.CreateLoop(_port, otherPort);
            for (int i = 0; i < 4; i++)
            {
                Assert.That(otherHost.TryRecycleRxBuffer(_pool.Alloc().IntoBufPtr()), Is.True);
            }

            _ = loop.RunOnce();
            NetBufPtr frame = _host.AllocTxBuffer(100);
            frame.Packet.Fill(0x42);
            Assert.That(_host.TryTransmit(frame), Is.True);
            _ = loop.RunOnce();
            Assert.That(otherHost.TryReceive(out NetBufPtr arrived), Is.True);
            Assert.That(arrived.PacketWithHeader.Length, Is.EqualTo(100));
            Assert.That(arrived.PacketWithHeader.ToArray(), Is.All.EqualTo(0x42));
            _pool.FreeBulk([arrived]);
            _ = _host.RecycleTxBuffers();
        }
        finally
        {
            otherHost.Dispose();
            otherPort.Dispose();
        }

        // Three ports: the third has no partner, so its frames make the handler throw, and the loop frees them.
        (LoopbackDriver thirdHost, LoopbackDriver thirdPort) = LoopbackDriver.CreatePair(_pool, 16);
        (LoopbackDriver fourthHost, LoopbackDriver fourthPort) = LoopbackDriver.CreatePair(_pool, 16);
        try
        {
            using var odd = new PacketLoop([fourthPort, _port, thirdPort], new L2Forwarder(), null);
            _ = odd.RunOnce();
            Assert.That(thirdHost.TryTransmit(thirdHost.AllocTxBuffer(60)), Is.True);
            Assert.Throws<ArgumentOutOfRangeException>(() => odd.RunOnce());
            Assert.That(odd.Counters[2].Received, Is.EqualTo(1));
        }
        finally
        {
            thirdHost.Dispose();
            thirdPort.Dispose();
            fourthHost.Dispose();
            fourthPort.Dispose();
        }

        Assert.Throws<ArgumentNullException>(() => L2Forwarder.CreateLoop(_port, null!));
        Assert.Throws<ArgumentNullException>(() => MacSwapReflector.CreateLoop(null!));
        Assert.Throws<ArgumentNullException>(() => new L2Forwarder().OnReceived(null!));
    }
}

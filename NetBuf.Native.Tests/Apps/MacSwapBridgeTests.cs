using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NetBufNative.Tests.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

/// <summary>
/// The MAC-swap reflector on a real port of every kind: frames a sender on host A's interface sends come back byte for
/// byte with their addresses swapped, and every buffer is back in the pool after the loop stops.
/// </summary>
[TestFixtureSource(typeof(BridgeRig), nameof(BridgeRig.Kinds))]
[NonParallelizable]
public sealed class MacSwapBridgeTests(string kind)
{
    [Test]
    public void Every_frame_comes_back_byte_for_byte_with_its_addresses_swapped()
    {
        using BridgeRig rig = BridgeRig.Create(kind);
        using var senderPool = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "macswap-sender" });
        using var sender = new AfPacketDriver(senderPool, rig.DeviceA, new AfPacketDriverOptions { NetworkNamespace = rig.HostA.Name, RxQueueSize = 32, TxQueueSize = 32 });
        DriverHarness.Post(sender, 32);
        using PacketLoop loop = MacSwapReflector.CreateLoop(rig.PortA, new PacketLoopOptions { Name = "macswap-" + kind });
        Task run = loop.Start();
        Assert.That(SpinWait.SpinUntil(() => ((NetDriver)rig.PortA).HeldBuffers > 0, TimeSpan.FromSeconds(5)), Is.True, "the loop posted its port");

        var random = new Random(11);
        for (int i = 0; i < 16; i++)
        {
            // The test EtherType (0x88B5), to a foreign unicast address, from the test's: no kernel answers it.
            byte[] frame = new byte[60 + random.Next(1400)];
            random.NextBytes(frame);
            TestFrames.Write(frame, NetBufNative.Wire.MacAddress.Parse("02:99:99:99:99:99"));
            TestFrames.Write(frame.AsSpan(6), TestFrames.TestMac);
            frame[12] = 0x88;
            frame[13] = 0xB5;
            frame[14] = (byte)i;
            DriverHarness.Send(sender, frame);
            byte[] expected = (byte[])frame.Clone();
            Assert.That(MacSwapReflector.TrySwapAddresses(expected), Is.True);
            byte[] back = DriverHarness.ReceiveMatching(sender, f => f.Length > 14 && f[12] == 0x88 && f[13] == 0xB5 && f[14] == (byte)i);
            Assert.That(back, Is.EqualTo(expected), $"frame {i}, {loop.Counters[0]}");
        }

        loop.Stop();
        Assert.That(run.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(loop.Counters[0].Transmitted, Is.GreaterThanOrEqualTo(16));
        rig.DisposePorts();
        Assert.That(rig.Pool.InUse, Is.Zero, "every buffer is back");
    }
}

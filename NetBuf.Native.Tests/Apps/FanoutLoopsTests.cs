using System.Buffers.Binary;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NetBufNative.Tests.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

/// <summary>Scaling out: one loop per AF_PACKET fanout socket, each on its own thread over one pool, share an interface's
/// flows; every frame is handled once.</summary>
[NonParallelizable]
public sealed class FanoutLoopsTests
{
    [Test]
    public void Two_loops_over_a_fanout_group_share_the_flows_and_reflect_every_frame_once()
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair("nbfk0", "nbfd0");
        using var pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { Name = "fanout-loops" });
        using var senderPool = new NetBufPool(256, 2048, new NetBufPoolOptions { Name = "fanout-sender" });
        using var sender = new AfPacketDriver(senderPool, "nbfk0", new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 128, TxQueueSize = 64 });
        DriverHarness.Post(sender, 128);
        var options = new AfPacketDriverOptions { NetworkNamespace = ns.Name, FanoutGroup = 4242, RxQueueSize = 128, TxQueueSize = 128 };
        using var first = new AfPacketDriver(pool, "nbfd0", options);
        using var second = new AfPacketDriver(pool, "nbfd0", options);
        using PacketLoop one = MacSwapReflector.CreateLoop(first, new PacketLoopOptions { Name = "fanout-1" });
        using PacketLoop two = MacSwapReflector.CreateLoop(second, new PacketLoopOptions { Name = "fanout-2" });
        Task runOne = one.Start();
        Task runTwo = two.Start();
        Assert.That(SpinWait.SpinUntil(() => first.HeldBuffers > 0 && second.HeldBuffers > 0, TimeSpan.FromSeconds(5)), Is.True);

        const int Flows = 64;
        var back = new HashSet<int>();
        for (int flow = 0; flow < Flows; flow++)
        {
            DriverHarness.Send(sender, UdpFrame(flow));
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var batch = new NetBufPtr[64];
        while (back.Count < Flows && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            _ = sender.WaitForReceive(TimeSpan.FromMilliseconds(100));
            int n = sender.ReceiveBatch(batch);
            for (int i = 0; i < n; i++)
            {
                byte[] frame = batch[i].PacketWithHeader.ToArray();
                senderPool.FreeBulk([batch[i]]);
                if (frame.Length >= 42 && frame[0] == 0x02 && frame[1] == 0x99 && frame[23] == 17)
                {
                    Assert.That(back.Add(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34)) - 10000), Is.True, "each frame reflected once");
                }
            }

            DriverHarness.Post(sender, n);
            _ = sender.RecycleTxBuffers();
        }

        one.Stop();
        two.Stop();
        Assert.That(Task.WaitAll([runOne, runTwo], TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(back, Has.Count.EqualTo(Flows), $"{one.Counters[0]}; {two.Counters[0]}");
        Assert.That(one.Counters[0].Received, Is.GreaterThan(0), "the first loop got flows");
        Assert.That(two.Counters[0].Received, Is.GreaterThan(0), "the second loop got flows");
        Assert.That(one.Counters[0].Received + two.Counters[0].Received, Is.EqualTo(Flows));
    }

    /// <summary>A UDP/IPv4 frame of flow <paramref name="flow"/> (its own source port), from 02:99:99:99:99:99 to the test's address.</summary>
    private static byte[] UdpFrame(int flow)
    {
        byte[] frame = new byte[60];
        TestFrames.Write(frame, TestFrames.TestMac);
        TestFrames.Write(frame.AsSpan(6), NetBufNative.Wire.MacAddress.Parse("02:99:99:99:99:99"));
        frame[12] = 0x08;
        frame[13] = 0x00;
        frame[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 46);
        frame[22] = 64;
        frame[23] = 17;
        byte[] addresses = [10, 79, 0, 1, 10, 79, 0, 2];
        addresses.CopyTo(frame, 26);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(34), (ushort)(10000 + flow));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(36), 9);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(38), 26);
        return frame;
    }
}

using System.Diagnostics;
using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>Sending and receiving whole frames through any driver in tests, with bounded waits.</summary>
internal static class DriverHarness
{
    /// <summary>How long a test waits for the kernel's reply: it comes in microseconds; the bound only ends a broken test.</summary>
    internal static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Posts <paramref name="count"/> fresh receive buffers.</summary>
    internal static void Post(INetDriver driver, int count)
    {
        var buffers = new NetBufPtr[count];
        Assert.That(driver.Pool.TryAllocBulk(buffers), Is.True);
        foreach (NetBufPtr buffer in buffers)
        {
            Assert.That(driver.TryRecycleRxBuffer(buffer), Is.True);
        }
    }

    /// <summary>Copies <paramref name="frame"/> into a buffer of the driver's and transmits it.</summary>
    internal static void Send(INetDriver driver, ReadOnlySpan<byte> frame)
    {
        NetBufPtr buffer = driver.AllocTxBuffer(frame.Length);
        frame.CopyTo(buffer.Packet);
        Assert.That(driver.TryTransmit(buffer), Is.True, "transmitted");
    }

    /// <summary>Receives until a frame <paramref name="match"/> accepts arrives (re-posting every buffer); returns its bytes.</summary>
    internal static byte[] ReceiveMatching(INetDriver driver, Func<byte[], bool> match, List<byte[]>? others = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ReplyTimeout)
        {
            _ = driver.WaitForReceive(ReplyTimeout - clock.Elapsed);
            while (driver.TryReceive(out NetBufPtr received))
            {
                byte[] bytes = received.Packet.ToArray();
                Assert.That(driver.TryRecycleRxBuffer(received), Is.True, "re-posted");
                if (match(bytes))
                {
                    return bytes;
                }

                others?.Add(bytes);
            }
        }

        Assert.Fail($"no matching frame within {ReplyTimeout.TotalSeconds} s");
        return [];
    }

    /// <summary>Resolves the kernel: sends an ARP request from the test host, checks the reply, and so makes the kernel learn the host (its neighbour entry).</summary>
    internal static void Arp(INetDriver driver, NetBufNative.Wire.MacAddress kernelMac)
    {
        var request = new byte[TestFrames.ArpFrameLength];
        TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
        Send(driver, request);
        byte[] reply = ReceiveMatching(driver, f => TestFrames.IsArpReply(f));
        TestFrames.CheckArpReply(reply, kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
    }

    /// <summary>Builds an echo request from the test host to the kernel.</summary>
    internal static byte[] EchoRequest(NetBufNative.Wire.MacAddress kernelMac, ushort sequence, int payloadLength)
    {
        var frame = new byte[TestFrames.IcmpHeadersLength + payloadLength];
        TestFrames.EchoRequest(frame, TestFrames.TestMac, kernelMac, TestNamespace.TestIp, TestNamespace.KernelIp, 0x4e42, sequence, payloadLength);
        return frame;
    }
}

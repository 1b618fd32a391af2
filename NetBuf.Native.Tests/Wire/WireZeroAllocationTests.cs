using NetBufNative.Apps;
using NetBufNative.Capture;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

/// <summary>
/// The parse, build and answer paths and the pcap writer allocate nothing on the GC heap, measured
/// with the runtime's per-thread allocation counter, frames living in pool buffers as a driver's would.
/// </summary>
public sealed class WireZeroAllocationTests
{
    private delegate void Work(NetBufPool pool, PcapWriter writer);

    private static readonly (string Name, Work Body)[] Paths =
    [
        ("answer a ping in a pool buffer", static (pool, _) => AnswerInPool(pool, Frames.PingRequest)),
        ("answer an ARP request in a pool buffer", static (pool, _) => AnswerInPool(pool, Frames.ArpRequest)),
        ("answer a ping with IP options", static (pool, _) => AnswerInPool(pool, Frames.PingRequestWithOptions)),
        ("ignore a frame for another host", static (pool, _) =>
        {
            using var buf = pool.Alloc();
            Span<byte> frame = buf.Append(98);
            Frames.PingRequestBytes.CopyTo(frame);
            frame[33] = 99;
            if (EchoResponder.TryAnswer(frame, frame.Length, Frames.OurMac, Frames.OurIp, out int unused) || unused != 0)
            {
                throw new InvalidOperationException("answered a ping for another address");
            }
        }),
        ("parse every layer and verify checksums", static (_, _) =>
        {
            Span<byte> frame = stackalloc byte[Frames.PingRequestBytes.Length];
            Frames.PingRequestBytes.CopyTo(frame);
            if (!EthernetFrame.TryParse(frame, out var ethernet) || !Ipv4Packet.TryParse(ethernet.Payload, out var ip) ||
                !ip.IsHeaderChecksumValid || !IcmpV4Packet.TryParse(ip.Payload, out var icmp) || !icmp.IsChecksumValid ||
                ethernet.Source != Frames.PeerMac || ip.Destination != Frames.OurIp || icmp.EchoSequence != 7)
            {
                throw new InvalidOperationException("the request did not parse");
            }
        }),
        ("build a UDP datagram", static (pool, _) =>
        {
            using var buf = pool.Alloc();
            Span<byte> frame = buf.Append(14 + 20 + 8 + 32);
            if (!EthernetFrame.TryCreate(frame, Frames.PeerMac, Frames.OurMac, EtherType.Ipv4, out var ethernet) ||
                !Ipv4Packet.TryCreate(ethernet.Payload, 8 + 32, IpProtocol.Udp, Frames.OurIp, Frames.PeerIp, out var ip) ||
                !UdpDatagram.TryCreate(ip.Payload, 1000, 2000, 32, out var udp) ||
                !ArpPacket.TryCreate(udp.Payload, ArpOperation.Request, Frames.OurMac, Frames.OurIp, default, Frames.PeerIp, out ArpPacket unusedArp) || unusedArp.Packet.Length != 28)
            {
                throw new InvalidOperationException("the datagram did not fit");
            }

            udp.FillChecksum(ip.Source, ip.Destination);
        }),
        ("write a pool buffer's frame to pcap", static (pool, writer) =>
        {
            using var buf = pool.Alloc();
            Frames.PingRequestBytes.CopyTo(buf.Append(98));
            writer.WriteFrame(buf.PacketWithHeader);
        }),
    ];

    [Test]
    public void Parse_build_answer_and_record_allocate_nothing_once_warm()
    {
        using var pool = new NetBufPool(16, 2048);

        // A stream that keeps nothing: its writes cost no memory, so only the writer's own allocations would count.
        using var writer = new PcapWriter(Stream.Null);
        foreach (var (name, body) in Paths)
        {
            for (int i = 0; i < 200; i++)
            {
                body(pool, writer);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2000; i++)
            {
                body(pool, writer);
            }

            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, name);
        }

        Assert.That(pool.Available, Is.EqualTo(16));
        Assert.That(writer.FramesWritten, Is.EqualTo(2200));
    }

    private static void AnswerInPool(NetBufPool pool, string request)
    {
        byte[] bytes = request switch
        {
            Frames.PingRequest => Frames.PingRequestBytes,
            Frames.ArpRequest => Frames.ArpRequestBytes,
            _ => Frames.PingRequestWithOptionsBytes,
        };
        using var buf = pool.Alloc();
        Span<byte> frame = buf.Append(bytes.Length);
        bytes.CopyTo(frame);
        if (!EchoResponder.TryAnswer(frame, frame.Length, Frames.OurMac, Frames.OurIp, out int length) || length == 0)
        {
            throw new InvalidOperationException("the request was not answered");
        }
    }
}

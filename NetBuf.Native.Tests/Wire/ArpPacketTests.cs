using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class ArpPacketTests
{
    [Test]
    public void A_request_shows_its_operation_and_addresses()
    {
        byte[] bytes = Frames.Bytes(Frames.ArpRequest);
        Assert.That(ArpPacket.TryParse(bytes.AsSpan(14), out var arp), Is.True);
        Assert.That(arp.Operation, Is.EqualTo(ArpOperation.Request));
        Assert.That(arp.SenderHardwareAddress, Is.EqualTo(Frames.PeerMac));
        Assert.That(arp.SenderProtocolAddress, Is.EqualTo(Frames.PeerIp));
        Assert.That(arp.TargetHardwareAddress, Is.EqualTo(default(MacAddress)));
        Assert.That(arp.TargetProtocolAddress, Is.EqualTo(Frames.OurIp));
        Assert.That(arp.Packet.Length, Is.EqualTo(ArpPacket.Length), "the padding after the packet is not part of it");
    }

    [Test]
    public void Setters_write_in_place_and_create_writes_a_whole_packet()
    {
        byte[] bytes = Frames.Bytes(Frames.ArpRequest);
        Assert.That(ArpPacket.TryParse(bytes.AsSpan(14), out var arp), Is.True);
        arp.Operation = ArpOperation.Reply;
        arp.SenderHardwareAddress = Frames.OurMac;
        arp.SenderProtocolAddress = Frames.OurIp;
        arp.TargetHardwareAddress = Frames.PeerMac;
        arp.TargetProtocolAddress = Frames.PeerIp;
        Assert.That(bytes.AsSpan(14, 28).ToArray(), Is.EqualTo(Frames.Bytes(Frames.ArpReply)[14..]));

        byte[] buffer = new byte[30];
        Assert.That(ArpPacket.TryCreate(buffer, ArpOperation.Reply, Frames.OurMac, Frames.OurIp, Frames.PeerMac, Frames.PeerIp, out var created), Is.True);
        Assert.That(buffer[..28], Is.EqualTo(Frames.Bytes(Frames.ArpReply)[14..]));
        Assert.That(created.Packet.Length, Is.EqualTo(28));
    }

    [TestCase(1, 0x00, "hardware type 0")]
    [TestCase(1, 0x06, "hardware type IEEE 802")]
    [TestCase(2, 0x86, "protocol type IPv6")]
    [TestCase(4, 0x08, "hardware length 8")]
    [TestCase(5, 0x10, "protocol length 16")]
    public void Other_hardware_or_protocol_types_are_refused(int offset, byte value, string what)
    {
        byte[] bytes = Frames.Bytes(Frames.ArpRequest)[14..];
        bytes[offset] = value;
        Assert.That(ArpPacket.TryParse(bytes, out _), Is.False, what);
    }

    [Test]
    public void Packets_shorter_than_28_bytes_are_refused_and_creation_writes_nothing()
    {
        byte[] bytes = Frames.Bytes(Frames.ArpRequest)[14..];
        for (int length = 0; length < 28; length++)
        {
            Assert.That(ArpPacket.TryParse(bytes.AsSpan(0, length), out var none), Is.False, $"{length} bytes");
            Assert.That(none.Packet.IsEmpty, Is.True);
        }

        byte[] buffer = new byte[27];
        Assert.That(ArpPacket.TryCreate(buffer, ArpOperation.Request, Frames.OurMac, Frames.OurIp, default, Frames.PeerIp, out _), Is.False);
        Assert.That(buffer, Is.All.Zero);
    }
}

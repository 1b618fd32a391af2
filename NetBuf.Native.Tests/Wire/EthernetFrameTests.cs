using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class EthernetFrameTests
{
    [Test]
    public void An_untagged_frame_shows_its_addresses_type_and_payload()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest);
        Assert.That(EthernetFrame.TryParse(bytes, out var frame), Is.True);
        Assert.That(frame.Destination, Is.EqualTo(Frames.OurMac));
        Assert.That(frame.Source, Is.EqualTo(Frames.PeerMac));
        Assert.That(frame.EtherType, Is.EqualTo(EtherType.Ipv4));
        Assert.That(frame.HasVlanTag, Is.False);
        Assert.That((frame.VlanTagControl, frame.VlanId, frame.VlanPriority), Is.EqualTo((0, 0, 0)));
        Assert.That(frame.HeaderLength, Is.EqualTo(14));
        Assert.That(frame.Frame.Length, Is.EqualTo(bytes.Length));
        Assert.That(frame.Payload.Length, Is.EqualTo(bytes.Length - 14));
        Assert.That(frame.Payload[0], Is.EqualTo(0x45));
    }

    [Test]
    public void A_tagged_frame_shows_the_tag_and_the_inner_type()
    {
        byte[] bytes = Frames.Bytes(Frames.VlanPingRequest);
        Assert.That(EthernetFrame.TryParse(bytes, out var frame), Is.True);
        Assert.That(frame.HasVlanTag, Is.True);
        Assert.That(frame.HeaderLength, Is.EqualTo(18));
        Assert.That(frame.VlanTagControl, Is.EqualTo(0x202a));
        Assert.That(frame.VlanId, Is.EqualTo(42));
        Assert.That(frame.VlanPriority, Is.EqualTo(1));
        Assert.That(frame.EtherType, Is.EqualTo(EtherType.Ipv4));
        Assert.That(frame.Payload[0], Is.EqualTo(0x45));

        frame.VlanTagControl = 0xE00F;
        frame.EtherType = EtherType.Arp;
        Assert.That((frame.VlanId, frame.VlanPriority), Is.EqualTo((15, 7)));
        Assert.That(bytes[12..18], Is.EqualTo(new byte[] { 0x81, 0x00, 0xE0, 0x0F, 0x08, 0x06 }));
    }

    [Test]
    public void Setters_write_the_fields_in_place()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest);
        Assert.That(EthernetFrame.TryParse(bytes, out var frame), Is.True);
        frame.Destination = MacAddress.Broadcast;
        frame.Source = MacAddress.Parse("0a:0b:0c:0d:0e:0f");
        frame.EtherType = EtherType.Ipv6;
        Assert.That(bytes[..14], Is.EqualTo(Convert.FromHexString("ffffffffffff0a0b0c0d0e0f86dd")));
        Assert.That(bytes[14..], Is.EqualTo(Frames.Bytes(Frames.PingRequest)[14..]), "nothing else changes");
    }

    [Test]
    public void Setting_a_tag_on_an_untagged_frame_throws_and_changes_nothing()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest);
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            Assert.That(EthernetFrame.TryParse(bytes, out var frame), Is.True);
            frame.VlanTagControl = 5;
        });
        Assert.That(ex!.Message, Does.Contain("no 802.1Q tag"));
        Assert.That(bytes, Is.EqualTo(Frames.Bytes(Frames.PingRequest)));
    }

    [Test]
    public void Frames_too_short_for_their_header_are_refused()
    {
        byte[] untagged = Frames.Bytes(Frames.PingRequest);
        byte[] tagged = Frames.Bytes(Frames.VlanPingRequest);
        for (int length = 0; length < 14; length++)
        {
            Assert.That(EthernetFrame.TryParse(untagged.AsSpan(0, length), out var none), Is.False, $"{length} bytes");
            Assert.That(none.Frame.IsEmpty, Is.True);
        }

        for (int length = 14; length < 18; length++)
        {
            Assert.That(EthernetFrame.TryParse(tagged.AsSpan(0, length), out _), Is.False, $"tagged, {length} bytes");
        }

        Assert.That(EthernetFrame.TryParse(untagged.AsSpan(0, 14), out var headerOnly), Is.True);
        Assert.That(headerOnly.Payload.IsEmpty, Is.True);
        Assert.That(EthernetFrame.TryParse(tagged.AsSpan(0, 18), out var taggedHeaderOnly), Is.True);
        Assert.That(taggedHeaderOnly.Payload.IsEmpty, Is.True);
    }

    [Test]
    public void A_double_tagged_frame_shows_the_inner_tag_as_its_payload()
    {
        byte[] bytes = Convert.FromHexString("0200000000010200000000028100000181000002" + "0800");
        Assert.That(EthernetFrame.TryParse(bytes, out var frame), Is.True);
        Assert.That(frame.VlanId, Is.EqualTo(1));
        Assert.That(frame.EtherType, Is.EqualTo(EtherType.Vlan));
        Assert.That(frame.Payload.ToArray(), Is.EqualTo(new byte[] { 0x00, 0x02, 0x08, 0x00 }));
    }

    [Test]
    public void Created_frames_parse_back_the_same()
    {
        byte[] buffer = new byte[64];
        Assert.That(EthernetFrame.TryCreate(buffer, Frames.PeerMac, Frames.OurMac, EtherType.Arp, out var created), Is.True);
        Assert.That(created.HeaderLength, Is.EqualTo(14));
        Assert.That(buffer[..14], Is.EqualTo(Convert.FromHexString("020000000002020000000001" + "0806")));
        Assert.That(created.Payload.Length, Is.EqualTo(50));

        byte[] tagged = new byte[64];
        Assert.That(EthernetFrame.TryCreate(tagged, Frames.PeerMac, Frames.OurMac, 0x2064, EtherType.Ipv4, out var withTag), Is.True);
        Assert.That(tagged[..18], Is.EqualTo(Convert.FromHexString("020000000002020000000001" + "81002064" + "0800")));
        Assert.That(EthernetFrame.TryParse(tagged, out var parsed), Is.True);
        Assert.That((parsed.HasVlanTag, parsed.VlanId, parsed.EtherType), Is.EqualTo((true, 100, EtherType.Ipv4)));
        Assert.That(withTag.Payload.Length, Is.EqualTo(46));
    }

    [Test]
    public void Creating_in_a_buffer_too_short_writes_nothing()
    {
        byte[] buffer = new byte[17];
        buffer.AsSpan().Fill(0x55);
        Assert.That(EthernetFrame.TryCreate(buffer.AsSpan(0, 13), Frames.PeerMac, Frames.OurMac, EtherType.Arp, out var none), Is.False);
        Assert.That(none.Frame.IsEmpty, Is.True);
        Assert.That(EthernetFrame.TryCreate(buffer, Frames.PeerMac, Frames.OurMac, 1, EtherType.Arp, out _), Is.False);
        Assert.That(buffer, Is.All.EqualTo(0x55));
    }
}

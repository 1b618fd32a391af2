using System.Net;
using System.Net.NetworkInformation;
using CsCheck;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class AddressTests
{
    [Test]
    public void A_mac_address_reads_writes_and_formats_in_wire_order()
    {
        byte[] bytes = [0xAA, 0xBB, 0xCC, 0x0D, 0xEE, 0x0F];
        var mac = new MacAddress(bytes);
        Assert.That(mac.Value, Is.EqualTo(0xAABBCC0DEE0FUL));
        Assert.That(mac.ToString(), Is.EqualTo("aa:bb:cc:0d:ee:0f"));
        byte[] shifted = [0, .. bytes];
        Assert.That(MacAddress.Read(shifted.AsSpan(1)), Is.EqualTo(mac));
        Assert.That(MacAddress.Read([.. bytes, 0x99]), Is.EqualTo(mac), "Read takes the first six bytes");

        byte[] written = new byte[8];
        mac.WriteTo(written.AsSpan(1));
        Assert.That(written, Is.EqualTo(new byte[] { 0, 0xAA, 0xBB, 0xCC, 0x0D, 0xEE, 0x0F, 0 }));
        Assert.That(new MacAddress(0xAABBCC0DEE0FUL), Is.EqualTo(mac));
        Assert.That(default(MacAddress).ToString(), Is.EqualTo("00:00:00:00:00:00"));
    }

    [Test]
    public void Mac_address_equality_and_hash_follow_the_value()
    {
        var a = MacAddress.Parse("02:00:00:00:00:01");
        var b = MacAddress.Parse("02-00-00-00-00-01");
        var c = MacAddress.Parse("02:00:00:00:00:02");
        Assert.That(a == b, Is.True);
        Assert.That(a != c, Is.True);
        Assert.That(a == c, Is.False);
        Assert.That(a != b, Is.False);
        Assert.That(a.Equals(b), Is.True);
        Assert.That(a.Equals((object)b), Is.True);
        Assert.That(a.Equals((object)"02:00:00:00:00:01"), Is.False);
        Assert.That(a.Equals(null), Is.False);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
    }

    [Test]
    public void Broadcast_and_multicast_are_told_by_the_group_bit()
    {
        Assert.That(MacAddress.Broadcast.ToString(), Is.EqualTo("ff:ff:ff:ff:ff:ff"));
        Assert.That(MacAddress.Broadcast.IsBroadcast, Is.True);
        Assert.That(MacAddress.Broadcast.IsMulticast, Is.True, "broadcast is a group address");
        Assert.That(MacAddress.Parse("01:00:5e:00:00:01").IsMulticast, Is.True);
        Assert.That(MacAddress.Parse("01:00:5e:00:00:01").IsBroadcast, Is.False);
        Assert.That(MacAddress.Parse("02:00:00:00:00:01").IsMulticast, Is.False);
        Assert.That(MacAddress.Parse("fe:ff:ff:ff:ff:ff").IsMulticast, Is.False);
    }

    [TestCase("AA:BB:CC:DD:EE:FF", 0xAABBCCDDEEFFUL)]
    [TestCase("aa-bb-cc-dd-ee-ff", 0xAABBCCDDEEFFUL)]
    [TestCase("00:00:00:00:00:00", 0UL)]
    public void Mac_addresses_parse_with_colons_or_dashes_in_either_case(string text, ulong value)
    {
        Assert.That(MacAddress.Parse(text).Value, Is.EqualTo(value));
        Assert.That(MacAddress.TryParse(text, out var parsed), Is.True);
        Assert.That(parsed.Value, Is.EqualTo(value));
    }

    [TestCase("")]
    [TestCase("aa:bb:cc:dd:ee")]
    [TestCase("aa:bb:cc:dd:ee:ff:00")]
    [TestCase("aa:bb-cc:dd:ee:ff")]
    [TestCase("aa.bb.cc.dd.ee.ff")]
    [TestCase("aabbccddeeff")]
    [TestCase("aa:bb:cc:dd:ee:fg")]
    [TestCase("aa:bb:cc:dd:ee:+f")]
    [TestCase(" a:bb:cc:dd:ee:ff")]
    public void Malformed_mac_text_is_rejected(string text)
    {
        Assert.That(MacAddress.TryParse(text, out var parsed), Is.False);
        Assert.That(parsed, Is.EqualTo(default(MacAddress)));
        var ex = Assert.Throws<FormatException>(() => MacAddress.Parse(text));
        Assert.That(ex!.Message, Does.Contain("aa:bb:cc:dd:ee:ff"));
    }

    [Test]
    public void Mac_address_arguments_are_checked()
    {
        Assert.Throws<ArgumentNullException>(() => MacAddress.Parse(null!));
        Assert.Throws<ArgumentException>(() => _ = new MacAddress(new byte[5]));
        Assert.Throws<ArgumentException>(() => _ = new MacAddress(new byte[7]));
        Assert.Throws<ArgumentException>(() => MacAddress.Read(new byte[5]));
        Assert.Throws<ArgumentException>(() => MacAddress.Broadcast.WriteTo(new byte[5]));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new MacAddress(1UL << 48));
        Assert.That(ex!.ParamName, Is.EqualTo("value"));
        Assert.Throws<ArgumentNullException>(() => MacAddress.FromPhysicalAddress(null!));
        Assert.Throws<ArgumentException>(() => MacAddress.FromPhysicalAddress(new PhysicalAddress(new byte[8])));
    }

    [Test]
    public void Mac_addresses_convert_to_and_from_PhysicalAddress()
    {
        var physical = PhysicalAddress.Parse("02-42-AC-11-00-02");
        var mac = MacAddress.FromPhysicalAddress(physical);
        Assert.That(mac.ToString(), Is.EqualTo("02:42:ac:11:00:02"));
        Assert.That(mac.ToPhysicalAddress(), Is.EqualTo(physical));
    }

    [Test]
    public void Any_mac_address_round_trips_through_text_bytes_and_PhysicalAddress()
    {
        Gen.ULong[0, (1UL << 48) - 1].Sample(
            value =>
            {
                var mac = new MacAddress(value);
                byte[] bytes = new byte[6];
                mac.WriteTo(bytes);
                return MacAddress.Parse(mac.ToString()) == mac &&
                    MacAddress.Parse(mac.ToString().ToUpperInvariant().Replace(':', '-')) == mac &&
                    new MacAddress(bytes) == mac &&
                    MacAddress.FromPhysicalAddress(mac.ToPhysicalAddress()) == mac &&
                    string.Equals(mac.ToPhysicalAddress().ToString(), mac.ToString().Replace(":", ""), StringComparison.OrdinalIgnoreCase);
            },
            iter: 2000,
            threads: 1);
    }

    [Test]
    public void An_ipv4_address_reads_writes_and_formats_in_network_order()
    {
        var address = new Ipv4Address(192, 168, 0, 1);
        Assert.That(address.Value, Is.EqualTo(0xC0A80001u));
        Assert.That(new Ipv4Address(0xC0A80001u), Is.EqualTo(address));
        Assert.That(address.ToString(), Is.EqualTo("192.168.0.1"));
        Assert.That(Ipv4Address.Read([0xC0, 0xA8, 0, 1, 0x77]), Is.EqualTo(address));
        byte[] written = new byte[6];
        address.WriteTo(written.AsSpan(1));
        Assert.That(written, Is.EqualTo(new byte[] { 0, 0xC0, 0xA8, 0, 1, 0 }));
        Assert.That(Ipv4Address.Any.ToString(), Is.EqualTo("0.0.0.0"));
        Assert.That(default(Ipv4Address), Is.EqualTo(Ipv4Address.Any));
    }

    [Test]
    public void Ipv4_address_classes_and_equality()
    {
        Assert.That(Ipv4Address.Any.IsUnspecified, Is.True);
        Assert.That(Ipv4Address.Broadcast.IsBroadcast, Is.True);
        Assert.That(Ipv4Address.Broadcast.ToString(), Is.EqualTo("255.255.255.255"));
        Assert.That(Ipv4Address.Parse("224.0.0.1").IsMulticast, Is.True);
        Assert.That(Ipv4Address.Parse("239.255.255.255").IsMulticast, Is.True);
        Assert.That(Ipv4Address.Parse("223.255.255.255").IsMulticast, Is.False);
        Assert.That(Ipv4Address.Parse("240.0.0.0").IsMulticast, Is.False);
        Assert.That(Ipv4Address.Parse("10.0.0.1").IsUnspecified || Ipv4Address.Parse("10.0.0.1").IsBroadcast, Is.False);

        var a = Ipv4Address.Parse("10.0.0.1");
        var b = new Ipv4Address(10, 0, 0, 1);
        var c = new Ipv4Address(10, 0, 0, 2);
        Assert.That(a == b && a != c && !(a == c) && !(a != b), Is.True);
        Assert.That(a.Equals((object)b), Is.True);
        Assert.That(a.Equals((object)"10.0.0.1"), Is.False);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
    }

    [TestCase("1.2.3")]
    [TestCase("1.2.3.4.5")]
    [TestCase("1.2.3.256")]
    [TestCase("01.2.3.4")]
    [TestCase("1.2.3.0004")]
    [TestCase("1.2..4")]
    [TestCase("0x1.2.3.4")]
    [TestCase("+1.2.3.4")]
    [TestCase(" 1.2.3.4")]
    [TestCase("1.2.3.4 ")]
    [TestCase("1")]
    [TestCase("")]
    [TestCase("::1")]
    public void Malformed_ipv4_text_is_rejected(string text)
    {
        Assert.That(Ipv4Address.TryParse(text, out var parsed), Is.False);
        Assert.That(parsed, Is.EqualTo(Ipv4Address.Any));
        Assert.Throws<FormatException>(() => Ipv4Address.Parse(text));
    }

    [Test]
    public void Ipv4_address_arguments_are_checked()
    {
        Assert.Throws<ArgumentNullException>(() => Ipv4Address.Parse(null!));
        Assert.Throws<ArgumentException>(() => Ipv4Address.Read(new byte[3]));
        Assert.Throws<ArgumentException>(() => Ipv4Address.Any.WriteTo(new byte[3]));
        Assert.Throws<ArgumentNullException>(() => Ipv4Address.FromIPAddress(null!));
        var ex = Assert.Throws<ArgumentException>(() => Ipv4Address.FromIPAddress(IPAddress.IPv6Loopback));
        Assert.That(ex!.Message, Does.Contain("not an IPv4 address"));
    }

    [Test]
    public void Any_ipv4_address_round_trips_through_text_bytes_and_IPAddress()
    {
        Gen.UInt.Sample(
            value =>
            {
                var address = new Ipv4Address(value);
                byte[] bytes = new byte[4];
                address.WriteTo(bytes);
                IPAddress ip = address.ToIPAddress();
                return Ipv4Address.Parse(address.ToString()) == address &&
                    Ipv4Address.Read(bytes) == address &&
                    ip.ToString() == address.ToString() &&
                    Ipv4Address.FromIPAddress(ip) == address;
            },
            iter: 2000,
            threads: 1);
    }
}

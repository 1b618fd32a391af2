using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class NetBufRegionTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() => _pool = new NetBufPool(4, 2048);

    [TearDown]
    public void CheckNothingLeaked()
    {
        Assert.That(_pool.Available, Is.EqualTo(_pool.Capacity), "every test returns its buffers");
        _pool.Dispose();
    }

    [Test]
    public void Regions_follow_the_header_and_packet_lengths()
    {
        using var buf = _pool.Alloc();
        for (int i = 0; i < 100; i++)
        {
            buf.RawBuffer[i] = (byte)i;
        }

        buf.SetHeaderLength(14);
        buf.SetPacketLength(46);
        Assert.That(buf.HeaderLength, Is.EqualTo(14));
        Assert.That(buf.PacketLength, Is.EqualTo(46));
        Assert.That(buf.Header.ToArray(), Is.EqualTo(Enumerable.Range(0, 14).Select(i => (byte)i).ToArray()));
        Assert.That(buf.Packet.ToArray(), Is.EqualTo(Enumerable.Range(14, 46).Select(i => (byte)i).ToArray()));
        Assert.That(buf.PacketWithHeader.ToArray(), Is.EqualTo(Enumerable.Range(0, 60).Select(i => (byte)i).ToArray()));
        Assert.That(buf.RawBuffer.Length, Is.EqualTo(2048));
        Assert.That(buf.Tailroom, Is.EqualTo(2048 - 60));
    }

    [Test]
    public void Packet_view_writes_through_to_the_buffer()
    {
        using var buf = _pool.Alloc();
        buf.SetHeaderLength(4);
        buf.SetPacketLength(8);
        buf.Packet.Fill(0x5A);
        Assert.That(buf.RawBuffer.Slice(4, 8).ToArray(), Is.All.EqualTo(0x5A));
        Assert.That(buf.PacketWithHeader[4..].ToArray(), Is.All.EqualTo(0x5A));
    }

    [Test]
    public void Lengths_may_fill_the_buffer_exactly()
    {
        using var buf = _pool.Alloc();
        buf.SetHeaderLength(48);
        buf.SetPacketLength(2000);
        Assert.That(buf.PacketWithHeader.Length, Is.EqualTo(2048));
        Assert.That(buf.Tailroom, Is.Zero);
        buf.SetPacketLength(0);
        buf.SetHeaderLength(2048);
        Assert.That(buf.Header.Length, Is.EqualTo(2048));
    }

    [TestCase(-1)]
    [TestCase(2002)]
    [TestCase(int.MaxValue)]
    [TestCase(int.MinValue)]
    public void SetPacketLength_out_of_range_throws_and_changes_nothing(int length)
    {
        using var buf = _pool.Alloc();
        buf.SetHeaderLength(47);
        buf.SetPacketLength(3);
        var ex = Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.SetPacketLength(length));
        Assert.That(ex!.ParamName, Is.EqualTo("length"));
        Assert.That(ex.Message, Does.Contain("2001"));
        Assert.That(buf.PacketLength, Is.EqualTo(3));
        Assert.That(buf.HeaderLength, Is.EqualTo(47));
    }

    [TestCase(-1)]
    [TestCase(2049)]
    [TestCase(int.MinValue)]
    public void SetHeaderLength_out_of_range_throws_and_changes_nothing(int length)
    {
        using var buf = _pool.Alloc();
        buf.SetPacketLength(0);
        buf.SetHeaderLength(10);
        Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.SetHeaderLength(length));
        Assert.That(buf.HeaderLength, Is.EqualTo(10));
    }

    [Test]
    public void SetHeaderLength_counts_the_packet_already_there()
    {
        using var buf = _pool.Alloc();
        buf.SetPacketLength(2000);
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.SetHeaderLength(49));
        buf.SetHeaderLength(48);
        Assert.That(buf.HeaderLength + buf.PacketLength, Is.EqualTo(2048));
    }

    [Test]
    public void Headroom_reserve_prepend_and_trim_build_a_frame()
    {
        using var buf = _pool.Alloc();
        buf.ReserveHeadroom(64);
        Assert.That(buf.Headroom, Is.EqualTo(64));

        var payload = buf.Append(50);
        payload.Fill(0xDD);
        var ip = buf.Prepend(20);
        ip.Fill(0x45);
        var eth = buf.Prepend(14);
        eth.Fill(0xEE);

        Assert.That(buf.Headroom, Is.EqualTo(30));
        Assert.That(buf.HeaderLength, Is.EqualTo(34));
        Assert.That(buf.PacketLength, Is.EqualTo(50));
        byte[] frame = buf.PacketWithHeader.ToArray();
        Assert.That(frame[..14], Is.All.EqualTo(0xEE));
        Assert.That(frame[14..34], Is.All.EqualTo(0x45));
        Assert.That(frame[34..], Is.All.EqualTo(0xDD));

        // Receive side: strip Ethernet, then IP, which runs from the header into the packet.
        var stripped = buf.TrimStart(14);
        Assert.That(stripped.ToArray(), Is.All.EqualTo(0xEE));
        Assert.That(buf.HeaderLength, Is.EqualTo(20));
        buf.TrimStart(25);
        Assert.That(buf.HeaderLength, Is.Zero);
        Assert.That(buf.PacketLength, Is.EqualTo(45));
        Assert.That(buf.Headroom, Is.EqualTo(69));

        var trailer = buf.TrimEnd(4);
        Assert.That(trailer.Length, Is.EqualTo(4));
        Assert.That(buf.PacketLength, Is.EqualTo(41));
        Assert.That(buf.Tailroom, Is.EqualTo(2048 - 69 - 41));
    }

    [Test]
    public void TrimEnd_runs_from_the_packet_into_the_header()
    {
        using var buf = _pool.Alloc();
        buf.SetHeaderLength(10);
        buf.SetPacketLength(5);
        buf.RawBuffer[..15].Fill(3);
        var removed = buf.TrimEnd(8);
        Assert.That(removed.Length, Is.EqualTo(8));
        Assert.That(buf.PacketLength, Is.Zero);
        Assert.That(buf.HeaderLength, Is.EqualTo(7));
        Assert.That(buf.Tailroom, Is.EqualTo(2048 - 7));
    }

    [Test]
    public void Headroom_operations_out_of_range_throw_and_change_nothing()
    {
        using var buf = _pool.Alloc();
        buf.ReserveHeadroom(16);
        buf.Append(100);
        buf.Prepend(6);

        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.Prepend(11));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.Prepend(-1));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.Append(2048 - 116 + 1));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.Append(-1));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.TrimStart(107));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.TrimStart(-1));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.TrimEnd(107));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.TrimEnd(int.MinValue));

        Assert.That(buf.Headroom, Is.EqualTo(10));
        Assert.That(buf.HeaderLength, Is.EqualTo(6));
        Assert.That(buf.PacketLength, Is.EqualTo(100));

        Assert.That(buf.Prepend(10).Length, Is.EqualTo(10));
        Assert.That(buf.Append(2048 - 116).Length, Is.EqualTo(2048 - 116));
        Assert.That(buf.Tailroom, Is.Zero);
        Assert.That(buf.Headroom, Is.Zero);
        Assert.That(buf.TrimStart(0).Length, Is.Zero);
        Assert.That(buf.TrimEnd(2048).Length, Is.EqualTo(2048));
    }

    [Test]
    public void ReserveHeadroom_needs_empty_regions_and_room()
    {
        using var buf = _pool.Alloc();
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.ReserveHeadroom(2049));
        Expect.Throws<ArgumentOutOfRangeException>(buf, static (ref NetBuf b) => b.ReserveHeadroom(-1));
        buf.ReserveHeadroom(2048);
        Assert.That(buf.Tailroom, Is.Zero);
        using var other = _pool.Alloc();
        other.Append(1);
        var ex = Expect.Throws<InvalidOperationException>(other, static (ref NetBuf b) => b.ReserveHeadroom(1));
        Assert.That(ex!.Message, Does.Contain("empty"));
        Assert.That(other.Headroom, Is.Zero);
    }

    [Test]
    public void Lengths_are_reset_on_every_allocation()
    {
        // Leave every buffer with non-empty regions, then allocate every buffer again.
        var boxes = new NetBufBox[_pool.Capacity];
        Assert.That(_pool.TryAllocBulk(boxes), Is.True);
        foreach (var box in boxes)
        {
            var view = box.AsNetBuf();
            view.ReserveHeadroom(100);
            view.Append(200);
            view.Prepend(10);
        }

        _pool.FreeBulk(boxes);
        Assert.That(_pool.TryAllocBulk(boxes), Is.True);
        foreach (var box in boxes)
        {
            var view = box.AsNetBuf();
            Assert.That((view.Headroom, view.HeaderLength, view.PacketLength), Is.EqualTo((0, 0, 0)));
        }

        _pool.FreeBulk(boxes);
    }
}

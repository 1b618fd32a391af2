using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Handles with a header region in front of the packet: <see cref="NetBuf.PacketMemory"/>, a writer's
/// tailroom and <see cref="NetBuf.TrimEnd"/> cover the right bytes; out-of-range lengths say which
/// region and how many bytes it has; <c>ToString</c> of handles says when they are stale; equality of
/// boxes and pointers compares pool (or address), buffer and generation.
/// </summary>
public sealed class HandleMutationTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() =>
        _pool = new NetBufPool(8, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "handles" });

    [TearDown]
    public void DisposePool() => _pool.Dispose();

    [Test]
    public void PacketMemory_covers_the_packet_and_not_the_header_in_front_of_it()
    {
        using var buf = _pool.Alloc();
        buf.Append(10).Fill(0xAA);
        buf.Prepend(4).Fill(0x11);

        Memory<byte> memory = buf.PacketMemory;

        Assert.That(memory.Length, Is.EqualTo(10));
        Assert.That(memory.Span.ToArray(), Is.All.EqualTo(0xAA));
        Assert.That(System.Buffers.BuffersExtensions.ToArray(buf.PacketSequence), Is.EqualTo(buf.Packet.ToArray()));
    }

    [Test]
    public void A_writer_appends_after_the_packet_when_the_buffer_has_a_header()
    {
        NetBuf buf = _pool.Alloc();
        buf.Append(10).Fill(0xAA);
        buf.Prepend(4).Fill(0x11);
        NetBufBox box = buf.IntoBox();
        var writer = new NetBufWriter(box);

        Span<byte> span = writer.GetSpan(3);
        Assert.That(span.Length, Is.EqualTo(box.AsNetBuf().Tailroom));
        span[..3].Fill(0x77);
        writer.Advance(3);
        Memory<byte> memory = writer.GetMemory(2);
        Assert.That(memory.Length, Is.EqualTo(box.AsNetBuf().Tailroom));
        memory.Span[..2].Fill(0x66);
        writer.Advance(2);

        NetBuf view = box.AsNetBuf();
        Assert.That(view.Header.ToArray(), Is.All.EqualTo(0x11));
        Assert.That(view.Packet.ToArray(), Is.EqualTo(new byte[] { 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0x77, 0x77, 0x77, 0x66, 0x66 }));
        box.Dispose();
    }

    [Test]
    public void TrimEnd_returns_the_bytes_it_removed_from_the_end_of_the_packet()
    {
        using var buf = _pool.Alloc();
        new byte[] { 1, 2, 3, 4, 5, 6 }.CopyTo(buf.Append(6));
        buf.Prepend(4);

        Span<byte> removed = buf.TrimEnd(2);

        Assert.That(removed.ToArray(), Is.EqualTo(new byte[] { 5, 6 }));
        Assert.That(buf.Packet.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Out_of_range_lengths_say_which_region_and_how_many_bytes_it_has()
    {
        using var buf = _pool.Alloc();
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.ReserveHeadroom(2048)).Message,
            Does.Contain("between 0 and 1984 (the tailroom available)"));
        buf.Append(10);
        buf.Prepend(4);

        // Headroom 60, header 4, packet 10 in 2048 bytes.
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.SetHeaderLength(2000)).Message,
            Does.Contain("between 0 and 1978 (the bytes left beside the headroom and packet available)"));
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.SetPacketLength(2000)).Message,
            Does.Contain("between 0 and 1984 (the bytes left after the headroom and header available)"));
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.Prepend(61)).Message,
            Does.Contain("between 0 and 60 (the headroom available)"));
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.Append(2000)).Message,
            Does.Contain("between 0 and 1974 (the tailroom available)"));
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.TrimStart(15)).Message,
            Does.Contain("between 0 and 14 (the header and packet bytes available)"));
        Assert.That(
            Expect.Throws<ArgumentOutOfRangeException>(buf, (ref NetBuf b) => b.TrimEnd(15)).Message,
            Does.Contain("between 0 and 14 (the header and packet bytes available)"));
        Assert.That((buf.Headroom, buf.HeaderLength, buf.PacketLength), Is.EqualTo((60, 4, 10)), "nothing was changed");
    }

    [Test]
    public void ToString_of_a_NetBuf_says_when_it_is_stale()
    {
        NetBuf buf = _pool.Alloc();
        NetBuf copy = buf;
        Assert.That(buf.ToString(), Is.EqualTo($"NetBuf(handles, buffer {buf.BufferIndex})"));

        buf.Dispose();

        Assert.That(copy.ToString(), Is.EqualTo($"NetBuf(handles, buffer {buf.BufferIndex}, stale)"));
        Assert.That(default(NetBuf).ToString(), Is.EqualTo("NetBuf(none)"));
    }

    [Test]
    public void Disposing_a_view_says_to_dispose_or_move_its_owner()
    {
        NetBufBox box = _pool.AllocBoxed();
        var ex = Expect.Throws<InvalidOperationException>(box.AsNetBuf(), (ref NetBuf b) => b.Dispose());
        Assert.That(ex.Message, Does.Contain("is a view").And.Contain("dispose or move its owner instead"));
        Assert.That(box.IsValid, Is.True);
        box.Dispose();
    }

    [Test]
    public void ToString_of_a_box_says_when_it_is_stale()
    {
        NetBufBox box = _pool.AllocBoxed();
        Assert.That(box.ToString(), Is.EqualTo($"NetBufBox(handles, buffer {box.Index})"));

        box.Dispose();

        Assert.That(box.ToString(), Is.EqualTo($"NetBufBox(handles, buffer {box.Index}, stale)"));
        Assert.That(default(NetBufBox).ToString(), Is.EqualTo("NetBufBox(none)"));
    }

    [Test]
    public void Boxes_are_equal_only_with_the_same_pool_buffer_and_generation()
    {
        using var other = new NetBufPool(8, 2048);

        // Fresh pools hand out the same buffer indices at the same generation.
        NetBufBox first = _pool.AllocBoxed();
        NetBufBox second = _pool.AllocBoxed();
        NetBufBox elsewhere = other.AllocBoxed();
        NetBufBox firstCopy = first;
        try
        {
            Assert.That(first, Is.EqualTo(firstCopy));
            Assert.That(first == firstCopy, Is.True);
            Assert.That(first.Equals(second), Is.False, "another buffer of the same pool");
            Assert.That(elsewhere.Index, Is.EqualTo(first.Index), "precondition: two fresh pools hand out the same buffer first");
            Assert.That(first.Equals(elsewhere), Is.False, "the same buffer index of another pool");
            Assert.That(first == elsewhere, Is.False);
        }
        finally
        {
            first.Dispose();
            second.Dispose();
            elsewhere.Dispose();
        }

        // The same buffer at a later generation is another handle.
        NetBufBox reused = _pool.AllocBoxed();
        Assert.That(reused.Equals(first) || reused.Equals(second), Is.False);
        reused.Dispose();
    }

    [Test]
    public void Pointers_are_equal_only_with_the_same_address_buffer_token_and_regions()
    {
        ulong regions = RegionWord.Make(64, 0, 10);
        var pointer = new NetBufPtr(0x10000, 3, 40, regions);

        Assert.That(pointer, Is.EqualTo(new NetBufPtr(0x10000, 3, 40, regions)));
        Assert.That(pointer.Equals(new NetBufPtr(0x20000, 3, 40, regions)), Is.False, "another address");
        Assert.That(pointer.Equals(new NetBufPtr(0x10000, 4, 40, regions)), Is.False, "another buffer");
        Assert.That(pointer.Equals(new NetBufPtr(0x10000, 3, 44, regions)), Is.False, "another lending");
        Assert.That(pointer.Equals(new NetBufPtr(0x10000, 3, 40, RegionWord.Make(64, 0, 11))), Is.False, "other regions");
    }

    [Test]
    public void ToString_of_a_pointer_gives_the_packets_offset_after_the_header()
    {
        NetBuf buf = _pool.Alloc();
        buf.Append(10);
        buf.Prepend(4);
        NetBufPtr pointer = buf.IntoBufPtr();

        Assert.That((int)(pointer.PacketAddress - pointer.BufferAddress), Is.EqualTo(64));
        Assert.That(pointer.ToString(), Does.EndWith("packet 10 bytes at +64)"));
        _pool.FromBufPtr(pointer).Dispose();
    }
}

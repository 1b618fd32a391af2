using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class HandleOwnershipTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() => _pool = new NetBufPool(4, 2048);

    [TearDown]
    public void DisposePool() => _pool.Dispose();

    [Test]
    public void A_second_dispose_throws_and_leaves_the_pool_intact()
    {
        var buf = _pool.Alloc();
        buf.Dispose();
        var ex = Expect.Throws<ObjectDisposedException>(buf, static (ref NetBuf b) => b.Dispose());
        Assert.That(ex!.Message, Does.Contain("back in the pool"));
        Assert.That(_pool.Available, Is.EqualTo(4));
        AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void A_stale_copy_throws_on_every_member_even_after_the_buffer_is_reused()
    {
        var buf = _pool.Alloc();
        var copy = buf;
        buf.Dispose();
        using var reused = _pool.Alloc();
        Assert.That(reused.BufferIndex, Is.EqualTo(copy.BufferIndex), "same buffer, new generation");
        Assert.That(copy.IsValid, Is.False);
        Assert.That(copy.ToString(), Does.Contain("stale"));

        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.Packet.Length);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.Header.Length);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.PacketWithHeader.Length);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.RawBuffer.Length);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.Capacity);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.HeaderLength);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.PacketLength);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.Headroom);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.Tailroom);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.SetHeaderLength(1));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.SetPacketLength(1));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.ReserveHeadroom(1));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.Prepend(0));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.Append(1));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.TrimStart(0));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.TrimEnd(0));
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.IntoBufPtr());
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.IntoBox());
        var ex = Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.Dispose());
        Assert.That(ex!.Message, Does.Contain("another owner"));

        Assert.That(reused.IsValid, Is.True, "the new owner is untouched");
        Assert.That(reused.PacketLength, Is.Zero);
        Assert.That(_pool.InUse, Is.EqualTo(1));
    }

    [Test]
    public void A_default_handle_throws_InvalidOperationException_and_disposes_as_a_no_op()
    {
        NetBuf none = default;
        Assert.That(none.IsValid, Is.False);
        Assert.That(none.ToString(), Does.Contain("none"));
        Expect.Throws<InvalidOperationException>(none, static (ref NetBuf b) => _ = b.Pool);
        Expect.Throws<InvalidOperationException>(none, static (ref NetBuf b) => _ = b.Packet.Length);
        Expect.Throws<InvalidOperationException>(none, static (ref NetBuf b) => b.SetPacketLength(0));
        Expect.Throws<InvalidOperationException>(none, static (ref NetBuf b) => b.IntoBufPtr());
        Expect.Throws<InvalidOperationException>(none, static (ref NetBuf b) => b.IntoBox());
        none.Dispose();
    }

    [Test]
    public void IntoBufPtr_moves_the_buffer_so_using_and_moves_mix()
    {
        NetBufPtr ptr;
        using (var buf = _pool.Alloc())
        {
            buf.Append(60).Fill(9);
            ptr = buf.IntoBufPtr();
            Assert.That(buf.IsValid, Is.False);
            Expect.Throws<InvalidOperationException>(buf, static (ref NetBuf b) => _ = b.Packet.Length);
        }

        Assert.That(_pool.InUse, Is.EqualTo(1), "the using block's Dispose did nothing: the pointer owns it");
        using var back = _pool.FromBufPtr(ptr);
        Assert.That(back.Packet.ToArray(), Is.All.EqualTo(9));
    }

    [Test]
    public void A_copy_made_before_a_move_is_stale()
    {
        var buf = _pool.Alloc();
        var copy = buf;
        var box = buf.IntoBox();
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.Dispose());
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => b.IntoBufPtr());
        Assert.That(box.IsValid, Is.True);
        box.Dispose();
        Assert.That(_pool.Available, Is.EqualTo(4));
    }

    [Test]
    public void Box_round_trip_keeps_contents_and_lengths()
    {
        using var buf = _pool.Alloc();
        buf.ReserveHeadroom(32);
        buf.Append(100).Fill(1);
        buf.Prepend(8).Fill(2);
        var box = buf.IntoBox();
        Assert.That(box.IsValid, Is.True);
        Assert.That(box.Pool, Is.SameAs(_pool));

        var view = box.AsNetBuf();
        Assert.That((view.Headroom, view.HeaderLength, view.PacketLength), Is.EqualTo((24, 8, 100)));
        view.Append(4).Fill(3);

        using var back = box.IntoNetBuf();
        Assert.That(box.IsValid, Is.False);
        Assert.That(back.PacketLength, Is.EqualTo(104));
        Assert.That(back.Header.ToArray(), Is.All.EqualTo(2));
        Assert.That(back.Packet[..100].ToArray(), Is.All.EqualTo(1));
        Assert.That(back.Packet[100..].ToArray(), Is.All.EqualTo(3));
        Assert.That(view.IsValid, Is.False, "the view went stale with the box");
        Expect.Throws<ObjectDisposedException>(view, static (ref NetBuf b) => _ = b.Packet.Length);
    }

    [Test]
    public void A_box_view_cannot_dispose_or_move_the_buffer()
    {
        var box = _pool.AllocBoxed();
        var view = box.AsNetBuf();
        Expect.Throws<InvalidOperationException>(view, static (ref NetBuf b) => b.Dispose());
        Expect.Throws<InvalidOperationException>(view, static (ref NetBuf b) => b.IntoBufPtr());
        Expect.Throws<InvalidOperationException>(view, static (ref NetBuf b) => b.IntoBox());
        Assert.That(box.IsValid, Is.True);
        box.Dispose();
        Assert.That(_pool.Available, Is.EqualTo(4));
    }

    [Test]
    public void A_box_disposed_twice_or_through_a_copy_throws()
    {
        var box = _pool.AllocBoxed();
        var copy = box;
        Assert.That(copy, Is.EqualTo(box));
        Assert.That(copy == box, Is.True);
        Assert.That(copy.GetHashCode(), Is.EqualTo(box.GetHashCode()));
        box.Dispose();
        Assert.Throws<ObjectDisposedException>(() => box.Dispose());
        Assert.Throws<ObjectDisposedException>(() => copy.Dispose());
        Assert.Throws<ObjectDisposedException>(() => copy.AsNetBuf());
        Assert.Throws<ObjectDisposedException>(() => copy.IntoNetBuf());
        Assert.Throws<ObjectDisposedException>(() => copy.IntoBufPtr());
        Assert.That(copy.ToString(), Does.Contain("stale"));
        Assert.That(_pool.Available, Is.EqualTo(4));
        AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void A_default_box_holds_nothing()
    {
        NetBufBox none = default;
        Assert.That(none.IsValid, Is.False);
        Assert.That(none.ToString(), Does.Contain("none"));
        Assert.Throws<InvalidOperationException>(() => _ = none.Pool);
        Assert.Throws<InvalidOperationException>(() => none.AsNetBuf());
        Assert.Throws<InvalidOperationException>(() => none.IntoNetBuf());
        Assert.Throws<InvalidOperationException>(() => none.IntoBufPtr());
        none.Dispose();
        Assert.That(none, Is.EqualTo(default(NetBufBox)));
        var real = _pool.AllocBoxed();
        Assert.That(none != real, Is.True);
        real.Dispose();
    }

    [Test]
    public void Boxes_live_in_collections_and_move_back_out()
    {
        var queue = new Queue<NetBufBox>();
        var ring = new NetBufBox[4];
        for (int i = 0; i < 4; i++)
        {
            var buf = _pool.Alloc();
            buf.Append(1)[0] = (byte)i;
            ring[i] = buf.IntoBox();
        }

        for (int i = 0; i < 4; i++)
        {
            queue.Enqueue(ring[i]);
            ring[i] = default;
        }

        int expected = 0;
        while (queue.TryDequeue(out var box))
        {
            using var buf = box.IntoNetBuf();
            Assert.That(buf.Packet[0], Is.EqualTo(expected++));
        }

        Assert.That(_pool.Available, Is.EqualTo(4));
    }

    [Test]
    public void Moving_a_box_into_a_pointer_and_back()
    {
        var box = _pool.AllocBoxed();
        box.AsNetBuf().Append(5).Fill(4);
        var ptr = box.IntoBufPtr();
        Assert.That(box.IsValid, Is.False);
        box.Dispose();
        Assert.That(ptr.Packet.ToArray(), Is.All.EqualTo(4));
        var buf = _pool.FromBufPtr(ptr);
        var again = buf.IntoBox();
        Assert.That(again.AsNetBuf().PacketLength, Is.EqualTo(5));
        again.Dispose();
        Assert.That(_pool.Available, Is.EqualTo(4));
    }

    internal static void AssertPoolHandsOutDistinctBuffers(NetBufPool pool)
    {
        var boxes = new List<NetBufBox>();
        while (pool.TryAllocBoxed(out var box))
        {
            boxes.Add(box);
        }

        Assert.That(boxes, Has.Count.EqualTo(pool.Capacity), "no buffer was lost");
        Assert.That(boxes.Select(b => b.AsNetBuf().BufferIndex), Is.Unique, "no buffer is on the free list twice");
        foreach (var box in boxes)
        {
            box.Dispose();
        }
    }
}

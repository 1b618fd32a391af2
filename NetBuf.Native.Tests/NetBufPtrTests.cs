using System.Runtime.InteropServices;
using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class NetBufPtrTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() => _pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "ptr-pool" });

    [TearDown]
    public void DisposePool() => _pool.Dispose();

    [Test]
    public void A_pointer_carries_the_buffer_header_and_packet_addresses_and_lengths()
    {
        var buf = _pool.Alloc();
        buf.ReserveHeadroom(32);
        buf.Append(60).Fill(0x11);
        buf.Prepend(14).Fill(0x22);
        nint raw = RawAddress(buf);
        int index = buf.BufferIndex;

        var ptr = buf.IntoBufPtr();
        Assert.That(ptr.IsNull, Is.False);
        Assert.That(ptr.BufferIndex, Is.EqualTo(index));
        Assert.That(ptr.BufferAddress, Is.EqualTo(raw));
        Assert.That(ptr.HeaderAddress, Is.EqualTo(raw + 18));
        Assert.That(ptr.HeaderLength, Is.EqualTo(14));
        Assert.That(ptr.PacketAddress, Is.EqualTo(raw + 32));
        Assert.That(ptr.PacketLength, Is.EqualTo(60));
        Assert.That(ptr.Packet.ToArray(), Is.All.EqualTo(0x11));
        Assert.That(ptr.PacketWithHeader.Length, Is.EqualTo(74));
        Assert.That(ptr.PacketWithHeader[..14].ToArray(), Is.All.EqualTo(0x22));
        Assert.That(ptr.ToString(), Does.Contain($"buffer {index}").And.Contain("packet 60 bytes"));
        Assert.That(_pool.InUse, Is.EqualTo(1), "a lent buffer is in use");

        // Unsafe code reads the packet through the raw address as a driver would.
        Assert.That(Marshal.ReadByte(ptr.PacketAddress), Is.EqualTo(0x11));
        Assert.That(Marshal.ReadByte(ptr.HeaderAddress), Is.EqualTo(0x22));

        using var back = _pool.FromBufPtr(ptr);
        Assert.That((back.Headroom, back.HeaderLength, back.PacketLength), Is.EqualTo((18, 14, 60)));
        Assert.That(back.Packet.ToArray(), Is.All.EqualTo(0x11));
    }

    [Test]
    public void Restoring_a_pointer_twice_throws_and_leaves_the_pool_intact()
    {
        var ptr = _pool.Alloc().IntoBufPtr();
        var first = _pool.FromBufPtr(ptr);
        var ex = Assert.Throws<InvalidOperationException>(() => _pool.FromBufPtr(ptr));
        Assert.That(ex!.Message, Does.Contain("already restored"));
        Assert.That(_pool.TryFromBufPtr(ptr, out var none), Is.False);
        Assert.That(none.IsValid, Is.False);
        Assert.That(first.IsValid, Is.True, "the first restore still owns the buffer");
        first.Dispose();
        Assert.Throws<InvalidOperationException>(() => _pool.FromBufPtr(ptr));
        Assert.That(_pool.Available, Is.EqualTo(4));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void A_pointer_from_another_pool_is_rejected()
    {
        using var other = new NetBufPool(4, 2048);
        var ptr = other.Alloc().IntoBufPtr();
        var ex = Assert.Throws<ArgumentException>(() => _pool.FromBufPtr(ptr));
        Assert.That(ex!.ParamName, Is.EqualTo("bufPtr"));
        Assert.That(ex.Message, Does.Contain("ptr-pool"));
        Assert.That(_pool.TryFromBufPtr(ptr, out _), Is.False);
        Assert.That(_pool.Available, Is.EqualTo(4));
        other.FromBufPtr(ptr).Dispose();
    }

    [Test]
    public void The_null_pointer_is_rejected()
    {
        Assert.That(default(NetBufPtr).IsNull, Is.True);
        Assert.That(default(NetBufPtr).Packet.IsEmpty, Is.True);
        Assert.That(default(NetBufPtr).PacketWithHeader.IsEmpty, Is.True);
        Assert.That(default(NetBufPtr).ToString(), Does.Contain("null"));
        var ex = Assert.Throws<ArgumentException>(() => _pool.FromBufPtr(default));
        Assert.That(ex!.Message, Does.Contain("null"));
        Assert.That(_pool.TryFromBufPtr(default, out _), Is.False);
    }

    [Test]
    public void Forged_pointers_off_a_boundary_or_out_of_range_or_not_lent_are_rejected()
    {
        var ptr = _pool.Alloc().IntoBufPtr();
        var forgeries = new[]
        {
            new NetBufPtr(ptr.BufferAddress + 1, ptr.BufferIndex, ptr.Token, 0),
            new NetBufPtr(ptr.BufferAddress + _pool.BufferStride, ptr.BufferIndex, ptr.Token, 0),
            new NetBufPtr(ptr.BufferAddress, 4, ptr.Token, 0),
            new NetBufPtr(ptr.BufferAddress, -1, ptr.Token, 0),
            new NetBufPtr(ptr.BufferAddress, int.MaxValue, ptr.Token, 0),
            new NetBufPtr(ptr.BufferAddress, ptr.BufferIndex, (ptr.Token & ~3ul) | 1ul, 0),
        };

        foreach (var forged in forgeries)
        {
            Assert.Throws<ArgumentException>(() => _pool.FromBufPtr(forged), forged.ToString());
            Assert.That(_pool.TryFromBufPtr(forged, out _), Is.False);
        }

        var stale = new NetBufPtr(ptr.BufferAddress, ptr.BufferIndex, ptr.Token + 4, 0);
        Assert.Throws<InvalidOperationException>(() => _pool.FromBufPtr(stale));

        Assert.That(_pool.InUse, Is.EqualTo(1), "nothing changed");
        _pool.FromBufPtr(ptr).Dispose();
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void TryFromBufPtr_restores_a_lent_buffer()
    {
        var box = _pool.AllocBoxed();
        box.AsNetBuf().Append(3);
        var ptr = box.IntoBufPtr();
        Assert.That(_pool.TryFromBufPtr(ptr, out var buf), Is.True);
        Assert.That(buf.PacketLength, Is.EqualTo(3));
        buf.Dispose();
        Assert.That(_pool.Available, Is.EqualTo(4));
    }

    [Test]
    public void Pointers_compare_by_value()
    {
        var ptr = _pool.Alloc().IntoBufPtr();
        var copy = ptr;
        Assert.That(copy == ptr, Is.True);
        Assert.That(copy != ptr, Is.False);
        Assert.That(copy.Equals((object)ptr), Is.True);
        Assert.That(copy.GetHashCode(), Is.EqualTo(ptr.GetHashCode()));
        var other = _pool.Alloc().IntoBufPtr();
        Assert.That(other == ptr, Is.False);
        Assert.That(other.Equals("not a pointer"), Is.False);
        _pool.FromBufPtr(ptr).Dispose();
        var reissued = _pool.Alloc().IntoBufPtr();
        Assert.That(reissued.BufferAddress, Is.EqualTo(ptr.BufferAddress));
        Assert.That(reissued, Is.Not.EqualTo(ptr), "a new lending of the same buffer is a different pointer");
        _pool.FromBufPtr(other).Dispose();
        _pool.FromBufPtr(reissued).Dispose();
    }

    [Test]
    public void A_pointer_lent_before_dispose_can_come_back_after()
    {
        var pool = new NetBufPool(2, 2048);
        var ptr = pool.Alloc().IntoBufPtr();
        pool.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False);
        using (var buf = pool.FromBufPtr(ptr))
        {
            Assert.That(buf.Capacity, Is.EqualTo(2048));
        }

        Assert.That(pool.IsMemoryReleased, Is.True);
    }

    [Test]
    public void A_frame_placed_inside_a_lent_buffer_comes_back_as_its_packet()
    {
        // As an AF_XDP receive: the buffer was lent empty; the kernel wrote a frame at offset 256.
        var ptr = _pool.Alloc().IntoBufPtr();
        Marshal.Copy(Enumerable.Repeat((byte)0x42, 60).ToArray(), 0, ptr.BufferAddress + 256, 60);

        using var frame = _pool.FromBufPtr(ptr, packetOffset: 256, packetLength: 60);
        Assert.That((frame.Headroom, frame.HeaderLength, frame.PacketLength), Is.EqualTo((256, 0, 60)));
        Assert.That(frame.Packet.ToArray(), Is.All.EqualTo(0x42));
        Assert.That(frame.Prepend(14).Length, Is.EqualTo(14), "the headroom before the frame is usable");
    }

    [TestCase(-1, 10)]
    [TestCase(2049, 0)]
    [TestCase(2000, 49)]
    [TestCase(0, -1)]
    [TestCase(0, 2049)]
    public void A_frame_that_does_not_fit_is_rejected_and_the_pointer_stays_lent(int offset, int length)
    {
        var ptr = _pool.Alloc().IntoBufPtr();
        Assert.Throws<ArgumentOutOfRangeException>(() => _pool.FromBufPtr(ptr, offset, length));
        using var back = _pool.FromBufPtr(ptr, 2000, 48);
        Assert.That(back.PacketLength, Is.EqualTo(48));
        Assert.That(back.Tailroom, Is.Zero);
    }

    [Test]
    public void A_frame_restore_validates_the_pointer_like_any_restore()
    {
        var ptr = _pool.Alloc().IntoBufPtr();
        _pool.FromBufPtr(ptr).Dispose();
        Assert.Throws<InvalidOperationException>(() => _pool.FromBufPtr(ptr, 0, 10));
        Assert.Throws<ArgumentException>(() => _pool.FromBufPtr(default, 0, 10));
        Assert.That(_pool.InUse, Is.Zero);
    }

    private static nint RawAddress(NetBuf buf)
    {
        unsafe
        {
            fixed (byte* p = buf.RawBuffer)
            {
                return (nint)p;
            }
        }
    }
}

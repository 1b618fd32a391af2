using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The argument and option boundaries of <see cref="NetBufPool"/> that a user can hit: the largest
/// accepted value of each documented range (block alignment, default headroom, thread cache size,
/// quarantine length, a frame at the very end of a buffer) is accepted and the next one is refused with
/// <see cref="ArgumentOutOfRangeException"/> naming the parameter and the limit; a pinned-array block
/// counts its alignment padding; the diagnostic mode turns thread caches off; and the smallest thread
/// cache (one buffer) still serves every buffer of the pool.
/// </summary>
public sealed class PoolArgumentBoundaryTests
{
    private const int OneGiB = 1 << 30;

    [Test]
    public void The_largest_documented_block_alignment_of_1_GiB_is_accepted()
    {
        // The documented range is a power of two from 64 to 1 GiB; the next power of two is not an int.
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { BlockAlignment = OneGiB });
        Assert.That(pool.BlockAlignment, Is.EqualTo(OneGiB));
        Assert.That((long)pool.BlockAddress % OneGiB, Is.Zero, "the block starts on the requested alignment");
        using NetBuf buf = pool.Alloc();
        buf.Append(2048).Fill(1);
        Assert.That(buf.PacketLength, Is.EqualTo(2048));
    }

    [Test]
    public void A_default_headroom_of_the_whole_buffer_is_accepted_and_one_more_byte_is_refused()
    {
        using (var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 2048, ThreadCacheSize = 0 }))
        {
            Assert.That(pool.DefaultHeadroom, Is.EqualTo(2048));
            using NetBuf buf = pool.Alloc();
            Assert.That(buf.Headroom, Is.EqualTo(2048));
            Assert.That(buf.Tailroom, Is.Zero);
        }

        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => _ = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 2049 }));
        Assert.That(ex!.ParamName, Is.EqualTo("options"));
        Assert.That(ex.Message, Does.Contain("DefaultHeadroom").And.Contain("2048"));
    }

    [Test]
    public void A_thread_cache_of_1024_is_accepted_and_1025_is_refused()
    {
        using (var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { ThreadCacheSize = 1024 }))
        {
            Assert.That(pool.ThreadCacheSize, Is.EqualTo(1024));
        }

        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => _ = new NetBufPool(2, 2048, new NetBufPoolOptions { ThreadCacheSize = 1025 }));
        Assert.That(ex!.ParamName, Is.EqualTo("options"));
        Assert.That(ex.Message, Does.Contain("ThreadCacheSize").And.Contain("1024"));
    }

    [Test]
    public void A_quarantine_of_zero_buffers_is_accepted()
    {
        var options = new NetBufPoolOptions { Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = 0 } };
        using var pool = new NetBufPool(2, 2048, options);
        NetBuf first = pool.Alloc();
        first.Dispose();
        Assert.That(pool.Available, Is.EqualTo(2), "with no quarantine a freed buffer is available at once");
    }

    [Test]
    public void A_quarantine_as_long_as_the_pool_is_refused_with_the_largest_allowed_length()
    {
        var options = new NetBufPoolOptions { Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = 16 } };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(16, 2048, options));
        Assert.That(ex!.ParamName, Is.EqualTo("options"));
        Assert.That(ex.ActualValue, Is.EqualTo(16));
        Assert.That(ex.Message, Does.Contain("QuarantineLength").And.Contain("15"), "names the option and its limit, capacity - 1");
    }

    [Test]
    public void A_pinned_array_block_that_fits_an_array_only_without_its_alignment_is_refused()
    {
        // 1 GiB + 2048 bytes of buffers fit one array, but not with the 1 GiB of alignment padding:
        // refused up front (nothing allocated), naming the capacity and the way out.
        var options = new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, BlockAlignment = OneGiB };
        int capacity = (OneGiB / 2048) + 1;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(capacity, 2048, options));
        Assert.That(ex!.ParamName, Is.EqualTo("capacity"));
        Assert.That(ex.Message, Does.Contain("BlockMemory = Native"));
    }

    [Test]
    public void The_diagnostic_mode_turns_a_requested_thread_cache_off()
    {
        var options = new NetBufPoolOptions { ThreadCacheSize = 8, Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = 0 } };
        using var pool = new NetBufPool(64, 2048, options);
        Assert.That(pool.ThreadCacheSize, Is.Zero);
    }

    [Test]
    public void A_thread_cache_of_one_buffer_serves_every_buffer_of_the_pool_again_and_again()
    {
        const int Capacity = 8;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 1 });
        Assert.That(pool.ThreadCacheSize, Is.EqualTo(1));
        var boxes = new NetBufBox[Capacity];
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < Capacity; i++)
            {
                Assert.That(pool.TryAllocBoxed(out boxes[i]), Is.True, $"round {round}, buffer {i}: buffers are free");
            }

            Assert.That(pool.TryAllocBoxed(out _), Is.False);
            foreach (NetBufBox box in boxes)
            {
                box.Dispose();
            }

            Assert.That(pool.Available, Is.EqualTo(Capacity));
        }
    }

    [Test]
    public void A_frame_may_start_at_the_very_end_of_the_buffer()
    {
        using var pool = new NetBufPool(2, 2048);
        NetBufPtr ptr = pool.Alloc().IntoBufPtr();
        using NetBuf buf = pool.FromBufPtr(ptr, packetOffset: 2048, packetLength: 0);
        Assert.That(buf.Headroom, Is.EqualTo(2048));
        Assert.That(buf.PacketLength, Is.Zero);
    }

    [Test]
    public void A_frame_offset_past_the_buffer_is_refused_naming_the_buffer_length()
    {
        using var pool = new NetBufPool(2, 2048);
        NetBufPtr ptr = pool.Alloc().IntoBufPtr();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pool.FromBufPtr(ptr, packetOffset: 2049, packetLength: 0));
        Assert.That(ex!.ParamName, Is.EqualTo("packetOffset"));
        Assert.That(ex.Message, Does.Contain("2048").And.Contain("buffer length"));
        Assert.That(pool.IsLent(ptr), Is.True, "nothing changed");
        pool.FromBufPtr(ptr).Dispose();
    }

    [Test]
    public void A_frame_too_long_for_its_offset_is_refused_naming_the_bytes_left_after_the_offset()
    {
        using var pool = new NetBufPool(2, 2048);
        NetBufPtr ptr = pool.Alloc().IntoBufPtr();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pool.FromBufPtr(ptr, packetOffset: 100, packetLength: 1949));
        Assert.That(ex!.ParamName, Is.EqualTo("packetLength"));
        Assert.That(ex.Message, Does.Contain("1948").And.Contain("after the offset"));
        using NetBuf buf = pool.FromBufPtr(ptr, packetOffset: 100, packetLength: 1948);
        Assert.That(buf.Tailroom, Is.Zero);
    }

    [Test]
    public void A_block_exactly_as_long_as_the_limit_fits()
    {
        Assert.That(NetBufPool.TryComputeBlockLength(4, 2048, 8192, out ulong length), Is.True);
        Assert.That(length, Is.EqualTo(8192UL));
        Assert.That(NetBufPool.TryComputeBlockLength(4, 2048, 8191, out _), Is.False);
    }
}

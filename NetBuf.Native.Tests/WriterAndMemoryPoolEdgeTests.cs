using System.IO.Pipelines;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Edges of the .NET integration: <see cref="NetBufMemoryPool"/> disposes only a pool it owns, its
/// argument errors name the limits, its stream-reader options keep the Pipelines minimum read size;
/// <see cref="NetBufWriter"/> tells a count beyond what it handed out
/// (<see cref="ArgumentOutOfRangeException"/>) from one that does not fit the tailroom
/// (<see cref="InvalidOperationException"/>), names the limits and the way out in its messages, and
/// accepts <c>Advance(0)</c> after a rollback.
/// </summary>
public sealed class WriterAndMemoryPoolEdgeTests
{
    [Test]
    public void Disposing_a_memory_pool_leaves_a_pool_it_does_not_own_open()
    {
        using var pool = new NetBufPool(4, 2048);
        var memoryPool = new NetBufMemoryPool(pool, ownsPool: false);
        memoryPool.Dispose();
        Assert.That(pool.IsDisposed, Is.False);
        using NetBuf buf = pool.Alloc();

        var owning = new NetBufMemoryPool(new NetBufPool(2, 2048), ownsPool: true);
        owning.Dispose();
        Assert.That(owning.Pool.IsDisposed, Is.True);
    }

    [Test]
    public void Renting_more_than_a_buffer_names_the_range()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.Rent(2049).Dispose());
        Assert.That(ex!.ParamName, Is.EqualTo("minBufferSize"));
        Assert.That(ex.Message, Does.Contain("-1").And.Contain("2048"));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Pipe_options_for_more_buffers_than_the_pool_has_name_the_range()
    {
        using var pool = new NetBufPool(16, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.CreatePipeOptions(17));
        Assert.That(ex!.ParamName, Is.EqualTo("maxBuffers"));
        Assert.That(ex.Message, Does.Contain(NetBufMemoryPool.MinimumBuffersPerPipe.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .And.Contain("16").And.Contain("capacity"));
    }

    [Test]
    public void Stream_reader_options_keep_the_default_minimum_read_size()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        StreamPipeReaderOptions options = memoryPool.CreateStreamPipeReaderOptions();
        Assert.That(options.BufferSize, Is.EqualTo(2048));
        Assert.That(options.MinimumReadSize, Is.EqualTo(new StreamPipeReaderOptions().MinimumReadSize));
    }

    [Test]
    public void Advancing_past_the_staging_array_is_an_argument_error_and_within_it_a_tailroom_error()
    {
        using var pool = new NetBufPool(2, 2048);
        using NetBufBox box = pool.AllocBoxed();
        box.AsNetBuf().Append(2048 - 100);
        var writer = new NetBufWriter(box);

        int handedOut = writer.GetSpan(200).Length; // more than the 100 bytes of tailroom: staged
        Assert.That(handedOut, Is.GreaterThanOrEqualTo(200));

        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(handedOut + 1));
        Assert.That(tooMany!.ParamName, Is.EqualTo("count"));
        Assert.That(tooMany.Message, Does.Contain(handedOut.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // Exactly what was handed out is a valid count: it fails only because it does not fit.
        var tooLong = Assert.Throws<InvalidOperationException>(() => writer.Advance(handedOut));
        Assert.That(tooLong!.Message, Does.Contain(handedOut.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .And.Contain("100").And.Contain("Rollback()"));
        Assert.That(writer.WrittenCount, Is.EqualTo(2048 - 100), "nothing was appended");
    }

    [Test]
    public void A_negative_size_hint_names_the_range()
    {
        using var pool = new NetBufPool(2, 2048);
        using NetBufBox box = pool.AllocBoxed();
        var writer = new NetBufWriter(box);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetMemory(-1));
        Assert.That(ex!.ParamName, Is.EqualTo("sizeHint"));
        Assert.That(ex.Message, Does.Contain(Array.MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void Rollback_below_the_mark_says_the_packet_was_shortened_elsewhere()
    {
        using var pool = new NetBufPool(2, 2048);
        using NetBufBox box = pool.AllocBoxed();
        box.AsNetBuf().Append(10);
        var writer = new NetBufWriter(box);
        box.AsNetBuf().TrimEnd(4);
        var ex = Assert.Throws<InvalidOperationException>(writer.Rollback);
        Assert.That(ex!.Message, Does.Contain("6 bytes").And.Contain("10 bytes").And.Contain("shorter than the mark"));
        Assert.That(box.AsNetBuf().PacketLength, Is.EqualTo(6), "nothing changed");
    }

    [Test]
    public void Advance_zero_after_a_rollback_appends_nothing()
    {
        using var pool = new NetBufPool(2, 2048);
        using NetBufBox box = pool.AllocBoxed();
        var writer = new NetBufWriter(box);
        writer.GetSpan(4)[..4].Fill(9);
        writer.Advance(4);
        writer.Rollback();
        writer.Advance(0);
        Assert.That(writer.WrittenCount, Is.Zero);
    }
}

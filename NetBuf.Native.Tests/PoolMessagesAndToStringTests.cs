using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// What a user reads when something goes wrong with a <see cref="NetBufPool"/>: the exhaustion,
/// disposal and stale-handle messages name the pool and say what to do; a null, foreign or forged
/// pointer is told apart in <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/>'s message; and the
/// descriptive members (<see cref="NetBufPool.ToString"/>, <see cref="NetBufPool.BlockLength"/>,
/// <see cref="NetBufPool.GetOutstandingBuffers"/> without the diagnostic mode,
/// <see cref="NetBufDiagnostic.ToString"/>) report what they document.
/// </summary>
public sealed class PoolMessagesAndToStringTests
{
    [Test]
    public void Exhaustion_names_the_pool_and_advises_TryAlloc_or_a_larger_capacity()
    {
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { Name = "rx-pool" });
        using NetBuf held = pool.Alloc();
        var ex = Assert.Throws<NetBufPoolExhaustedException>(() => pool.Alloc().Dispose());
        Assert.That(ex!.Message, Does.Contain("rx-pool").And.Contain("TryAlloc").And.Contain("larger capacity"));
    }

    [Test]
    public void The_default_exhaustion_message_says_the_pool_is_exhausted()
    {
        var ex = new NetBufPoolExhaustedException();
        Assert.That(ex.Message, Does.Contain("exhausted"));
        Assert.That(ex, Is.InstanceOf<InvalidOperationException>());
    }

    [Test]
    public void Allocating_from_a_disposed_pool_says_it_is_disposed()
    {
        var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "closed-pool" });
        pool.Dispose();
        var ex = Assert.Throws<ObjectDisposedException>(() => pool.Alloc().Dispose());
        Assert.That(ex!.ObjectName, Is.EqualTo("closed-pool"));
        Assert.That(ex.Message, Does.Contain("is disposed").And.Contain("no buffer can be allocated"));
    }

    [Test]
    public void A_stale_handle_is_told_to_pass_handles_by_ref()
    {
        using var pool = new NetBufPool(2, 2048);
        NetBufBox box = pool.AllocBoxed();
        NetBufBox copy = box;
        box.Dispose();
        var ex = Assert.Throws<ObjectDisposedException>(() => copy.Dispose());
        Assert.That(ex!.Message, Does.Contain("no longer valid").And.Contain("pass it by ref"));
    }

    [Test]
    public void A_null_pointer_is_reported_as_null()
    {
        using var pool = new NetBufPool(2, 2048);
        var ex = Assert.Throws<ArgumentException>(() => pool.FromBufPtr(default).Dispose());
        Assert.That(ex!.ParamName, Is.EqualTo("bufPtr"));
        Assert.That(ex.Message, Does.Contain("null"));
        Assert.That(ex.Message, Does.Not.Contain("not lent by"));
    }

    [Test]
    public void A_pointer_of_another_pool_is_reported_as_outside_the_block()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "mine" });
        using var other = new NetBufPool(4, 2048);
        NetBufPtr foreign = other.Alloc().IntoBufPtr();
        var ex = Assert.Throws<ArgumentException>(() => pool.FromBufPtr(foreign).Dispose());
        Assert.That(ex!.ParamName, Is.EqualTo("bufPtr"));
        Assert.That(ex.Message, Does.Contain("not lent by mine").And.Contain("outside this pool's block"));
        other.FromBufPtr(foreign).Dispose();
    }

    [Test]
    public void A_forged_pointer_into_the_block_is_reported_as_not_matching_a_lending()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "mine", ThreadCacheSize = 0 });
        NetBufPtr real = pool.Alloc().IntoBufPtr();

        // Buffer 1's address with buffer 0's index and token: inside the block, but no lending.
        var forged = new NetBufPtr(real.BufferAddress + pool.BufferStride, real.BufferIndex, real.Token, 0);
        var ex = Assert.Throws<ArgumentException>(() => pool.FromBufPtr(forged).Dispose());
        Assert.That(ex!.ParamName, Is.EqualTo("bufPtr"));
        Assert.That(ex.Message, Does.Contain("not lent by mine").And.Contain("does not match one of this pool's lendings"));
        Assert.That(ex.Message, Does.Not.Contain("outside"));
        pool.FromBufPtr(real).Dispose();
    }

    [Test]
    public void A_forged_pointer_just_past_the_block_is_reported_as_outside_it()
    {
        // The first address after the last buffer: outside the block, by one byte (a mutation-run gap).
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "mine", ThreadCacheSize = 0 });
        NetBufPtr real = pool.Alloc().IntoBufPtr();
        var forged = new NetBufPtr(pool.BlockAddress + (nint)pool.BlockLength, real.BufferIndex, real.Token, 0);
        var ex = Assert.Throws<ArgumentException>(() => pool.FromBufPtr(forged).Dispose());
        Assert.That(ex!.Message, Does.Contain("outside this pool's block"));

        var last = new NetBufPtr(pool.BlockAddress + (nint)pool.BlockLength - pool.BufferStride, real.BufferIndex, real.Token, 0);
        ex = Assert.Throws<ArgumentException>(() => pool.FromBufPtr(last).Dispose());
        Assert.That(ex!.Message, Does.Contain("does not match one of this pool's lendings"), "the last buffer's address lies inside");
        pool.FromBufPtr(real).Dispose();
    }

    [Test]
    public void ToString_gives_name_shape_and_available_count_and_says_when_disposed()
    {
        var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "tx", ThreadCacheSize = 0 });
        NetBufBox box = pool.AllocBoxed();
        string live = pool.ToString();
        Assert.That(live, Does.StartWith("tx").And.Contain("4 x 2048 bytes").And.EndWith("3 available"));

        pool.Dispose();
        Assert.That(pool.ToString(), Does.StartWith("tx").And.EndWith("disposed"));
        box.Dispose();
    }

    [Test]
    public void BlockLength_is_capacity_times_stride()
    {
        using var pool = new NetBufPool(3, 1600);
        Assert.That(pool.BlockLength, Is.EqualTo((long)pool.Capacity * pool.BufferStride));
    }

    [Test]
    public void Outstanding_buffers_without_the_diagnostic_mode_are_leaks_at_offset_minus_one()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "leaky", ThreadCacheSize = 0 });
        NetBufBox box = pool.AllocBoxed();
        IReadOnlyList<NetBufDiagnostic> outstanding = pool.GetOutstandingBuffers();
        Assert.That(outstanding, Has.Count.EqualTo(1));
        NetBufDiagnostic leak = outstanding[0];
        Assert.That(leak.Kind, Is.EqualTo(NetBufDiagnosticKind.Leak));
        Assert.That(leak.PoolName, Is.EqualTo("leaky"));
        Assert.That(leak.BufferIndex, Is.EqualTo(box.Index));
        Assert.That(leak.Offset, Is.EqualTo(-1), "documented: -1 for a leak");
        Assert.That(leak.AllocatedAt, Is.Null);
        box.Dispose();
        Assert.That(pool.GetOutstandingBuffers(), Is.Empty);
    }

    [Test]
    public void An_overflow_report_names_pool_buffer_and_offset()
    {
        var report = new NetBufDiagnostic(NetBufDiagnosticKind.Overflow, "guarded", 3, 2050, null, null);
        Assert.That(report.ToString(), Does.Contain("guarded").And.Contain("buffer 3").And.Contain("2050").And.Contain("overrun"));
    }
}

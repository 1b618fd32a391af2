using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// Exhaustion has its own exception type (an
/// <see cref="InvalidOperationException"/>, so existing catches still work), so that a caller can
/// tell "pool empty" from "you misused a handle"; and a pointer of another pool says it was not lent
/// by this pool.
/// </summary>
public sealed class MisusePromiseTests
{
    [Test]
    public void Allocating_from_an_exhausted_pool_throws_NetBufPoolExhaustedException()
    {
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var memoryPool = new NetBufMemoryPool(pool);
        NetBufBox held = pool.AllocBoxed();

        Assert.That(() => pool.AllocBoxed(), Throws.InstanceOf<NetBufPoolExhaustedException>());
        Assert.That(() => pool.Alloc().Dispose(), Throws.InstanceOf<NetBufPoolExhaustedException>());
        Assert.That(() => memoryPool.Rent(), Throws.InstanceOf<NetBufPoolExhaustedException>());
        Assert.That(() => pool.AllocBoxed(), Throws.InstanceOf<InvalidOperationException>(), "existing catches still work");
        Assert.That(pool.TryAllocBoxed(out _), Is.False);

        held.Dispose();
        Assert.That(pool.Available, Is.EqualTo(1));
    }

    [Test]
    public void Restoring_another_pools_pointer_says_it_was_not_lent_by_this_pool()
    {
        using var lender = new NetBufPool(2, 2048);
        using var other = new NetBufPool(2, 2048);
        NetBufPtr pointer = lender.AllocBoxed().IntoBufPtr();

        var ex = Assert.Catch<ArgumentException>(() => other.FromBufPtr(pointer).Dispose());
        Assert.That(ex!.Message, Does.Contain("not lent by"));
        Assert.That(other.TryFromBufPtr(pointer, out _), Is.False);
        Assert.DoesNotThrow(() => lender.FromBufPtr(pointer).Dispose(), "the failed restores changed nothing");
    }
}

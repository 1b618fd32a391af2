using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A stale handle must never match again, however many times its buffer changes
/// owner. The buffer's generation is put just below 2^30 (where the old 30-bit generation
/// wrapped) and driven past it; a copy of a handle taken at the start must stay stale throughout,
/// and the rightful owners' disposes must keep working.
/// </summary>
public sealed class GenerationWrapTests
{
    /// <summary>The old state word's generation had 30 bits: it wrapped to 0 after 2^30 owner changes.</summary>
    private const ulong OldWrap = 1UL << 30;

    /// <summary>Owner changes driven past the old wrap point: each cycle below makes two.</summary>
    private const int Cycles = 64;

    [Test]
    public void A_stale_box_never_matches_again_when_the_generation_passes_2_pow_30()
    {
        // One buffer, no cache: every allocation takes buffer 0.
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        pool.SetGenerationForTesting(0, 5);
        NetBufBox stale = pool.AllocBoxed();
        NetBufBox copy = stale;
        copy.Dispose();
        Assert.That(stale.IsValid, Is.False);

        pool.SetGenerationForTesting(0, OldWrap - 3);
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            NetBufBox owner = pool.AllocBoxed();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(stale.IsValid, Is.False, $"cycle {cycle}: the stale copy matches the new owner's buffer");
                Assert.Throws<ObjectDisposedException>(() => stale.Dispose(), $"cycle {cycle}: the stale copy's Dispose");
                Assert.DoesNotThrow(() => owner.Dispose(), $"cycle {cycle}: the rightful owner's Dispose");
            }
        }

        Assert.That(pool.Available, Is.EqualTo(1));
    }

    [Test]
    public void A_stale_pointer_never_restores_when_the_generation_passes_2_pow_30()
    {
        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        pool.SetGenerationForTesting(0, 5);
        NetBufPtr stale = pool.AllocBoxed().IntoBufPtr();
        pool.FreeBulk([stale]);

        pool.SetGenerationForTesting(0, OldWrap - 3);
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            NetBufPtr owner = pool.AllocBoxed().IntoBufPtr();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(pool.TryFromBufPtr(stale, out NetBuf restored), Is.False, $"cycle {cycle}: the stale pointer was restored");
                restored.Dispose();
                Assert.DoesNotThrow(() => pool.FromBufPtr(owner).Dispose(), $"cycle {cycle}: the rightful pointer's restore");
            }
        }

        Assert.That(pool.Available, Is.EqualTo(1));
    }
}

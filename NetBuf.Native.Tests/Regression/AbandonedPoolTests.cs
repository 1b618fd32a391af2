using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A pool that is collected while a buffer is still out must not free its native
/// block, because spans into that buffer may still be live on some stack. The block is large enough
/// to be its own memory mapping, so whether it is still mapped can be asked of the kernel
/// (<c>msync</c> fails with ENOMEM on an unmapped range) without touching it.
/// </summary>
[NonParallelizable]
public sealed partial class AbandonedPoolTests
{
    private const int MsAsync = 1;
    private const int ENoMem = 12;

    [Test]
    public void A_collected_pool_with_a_buffer_out_keeps_its_block_mapped()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("msync is used to ask whether the block is mapped: Linux only.");
        }

        nint page = Environment.SystemPageSize;
        nint address = AbandonPoolWithABoxOut();
        nint pageStart = address & ~(page - 1);
        Assert.That(MSync(pageStart, (nuint)page, MsAsync), Is.Zero, "the buffer's page is mapped while the pool is alive");

        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        GC.Collect();
        int result = MSync(pageStart, (nuint)page, MsAsync);
        int errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        Assert.That(
            result,
            Is.Zero,
            $"msync of the abandoned buffer's page failed with errno {errno}{(errno == ENoMem ? " (ENOMEM: unmapped)" : string.Empty)}: the block was freed under a buffer still out");
    }

    /// <summary>Makes a pool whose 64 MiB block is mmap'd, boxes one buffer, and drops both undisposed.</summary>
    /// <returns>The boxed buffer's address: all that is kept.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint AbandonPoolWithABoxOut()
    {
        var pool = new NetBufPool(1024, NetBufPool.MaxBufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
        NetBufBox box = pool.AllocBoxed();
        return pool.BufferAddress(box.AsNetBuf().BufferIndex);
    }

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    private static partial int MSync(nint address, nuint length, int flags);
}

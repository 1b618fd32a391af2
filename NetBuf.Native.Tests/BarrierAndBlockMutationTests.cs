using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The process-wide barrier check against the kernel's own answer, and the block's lifetime:
/// freed exactly once by a disposal with nothing out or by the finalizer of a pool collected with
/// every buffer back, never referenced again once freed, counted once when leaked however many
/// buffers are out, and (pinned-array blocks) inside its array, which never moves.
/// </summary>
[NonParallelizable]
public sealed partial class BarrierAndBlockMutationTests
{
    [Test]
    public void On_Linux_the_barrier_is_trusted_because_of_membarrier_exactly_when_the_kernel_offers_it()
    {
        long number = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 324,
            Architecture.Arm64 => 283,
            _ => -1,
        };
        if (!OperatingSystem.IsLinux() || number < 0)
        {
            Assert.Ignore("asks the Linux kernel directly: Linux on x64 or arm64 only");
        }

        // The kernel's answer, asked here independently of the library.
        long commands = Syscall(number, 0, 0, 0);
        bool expedited = commands > 0 && (commands & (1 << 3)) != 0 && Syscall(number, 1 << 4, 0, 0) == 0;
        TestContext.Out.WriteLine($"membarrier query: 0x{commands:x}; decision: {ProcessWideBarrier.Description}");

        Assert.That(ProcessWideBarrier.QueryMembarrier(), Is.EqualTo(commands < 0 ? 0 : (int)commands));
        if (expedited)
        {
            Assert.That(ProcessWideBarrier.Description, Does.StartWith("Linux: membarrier"));
            Assert.That(ProcessWideBarrier.IsProcessWideBarrierReliable(), Is.True);
            Assert.That(ProcessWideBarrier.OwnerMustFence, Is.False);
        }
        else
        {
            Assert.That(ProcessWideBarrier.Description, Does.Not.StartWith("Linux"));
        }
    }

    [TestCase(NetBufBlockMemory.Native)]
    [TestCase(NetBufBlockMemory.PinnedArray)]
    public void Disposing_a_pool_with_nothing_out_frees_its_block_once_and_it_takes_no_reference_after(NetBufBlockMemory memory)
    {
        var pool = new NetBufPool(8, 2048, new NetBufPoolOptions { BlockMemory = memory, ThreadCacheSize = 4 });
        pool.Alloc().Dispose();
        pool.Dispose();
        PoolBlock block = pool.Memory;
        Assert.That(block.TimesFreed, Is.EqualTo(1));
        Assert.That(block.IsReleased, Is.True);
        Assert.That(block.Array, Is.Null);
        Assert.That(block.TryAddReference(), Is.False, "a freed block cannot be pinned again");
        Assert.That(block.IsReleased, Is.True, "and the failed attempt did not revive its count");
        Assert.That(block.TimesFreed, Is.EqualTo(1));
    }

    [Test]
    public void The_finalizer_of_a_pool_collected_with_every_buffer_back_frees_its_block()
    {
        WeakReference weak = AbandonPool(buffersOut: 0);

        // One collection: the finalizer has run, and the long weak reference still reaches the
        // object until the next collection.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var block = (PoolBlock?)weak.Target;
        Assert.That(block, Is.Not.Null, "precondition: the finalized block is still reachable through the long weak reference");
        Assert.That(block!.TimesFreed, Is.EqualTo(1));
        Assert.That(block.IsReleased, Is.True);
        Assert.That(block.TryAddReference(), Is.False);
    }

    [Test]
    public void A_pool_collected_with_several_buffers_out_leaks_one_block()
    {
        long blocks = PoolBlock.LeakedBlocks;
        long bytes = PoolBlock.LeakedBytes;
        _ = AbandonPool(buffersOut: 3);
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(PoolBlock.LeakedBlocks - blocks, Is.EqualTo(1));
        Assert.That(PoolBlock.LeakedBytes - bytes, Is.EqualTo(16L * 2048));
    }

    [Test]
    public unsafe void A_pinned_array_block_lies_inside_its_array_and_never_moves()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, ThreadCacheSize = 0 });
        byte[] array = pool.Memory.Array!;
        Assert.That(array.Length, Is.GreaterThanOrEqualTo(pool.Memory.ArrayOffset + pool.BlockLength));
        nint address = pool.BlockAddress;
        for (int i = 0; i < 3; i++)
        {
            // Garbage below the array gives a compacting collection something to close up.
            _ = new byte[1000];
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        fixed (byte* data = array)
        {
            Assert.That((nint)(data + pool.Memory.ArrayOffset), Is.EqualTo(address), "the array did not move");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AbandonPool(int buffersOut)
    {
        var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        for (int i = 0; i < buffersOut; i++)
        {
            _ = pool.AllocBoxed();
        }

        pool.Alloc().Dispose();
        return new WeakReference(pool.Memory, trackResurrection: true);
    }

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall(long number, long argument1, long argument2, long argument3);
}

using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The bulk operations' scratch space and the slot table's size check: a bulk operation larger
/// than the stack scratch returns its rented array (so it allocates nothing once warm), and a
/// slot table too large for one array is refused rather than made smaller than its capacity.
/// </summary>
[NonParallelizable]
public sealed class FreeListAndSlotTableMutationTests
{
    [Test]
    public void Bulk_operations_larger_than_the_stack_scratch_allocate_nothing_once_warm()
    {
        const int Batch = IndexScratch.StackLength + 44;
        using var pool = new NetBufPool(Batch, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        var pointers = new NetBufPtr[Batch];
        for (int i = 0; i < 3; i++)
        {
            Assert.That(pool.TryAllocBulk(pointers), Is.True);
            pool.FreeBulk(pointers);
        }

        // No assertion inside the measured loop: the constraints themselves allocate.
        int allocated = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 16; i++)
        {
            if (pool.TryAllocBulk(pointers))
            {
                allocated++;
                pool.FreeBulk(pointers);
            }
        }

        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.EqualTo(16));
        Assert.That(bytes, Is.Zero, "the rented scratch goes back to the array pool");
        Assert.That(pool.Available, Is.EqualTo(Batch));
    }

    [Test]
    public void A_slot_table_whose_size_overflows_an_int_is_refused()
    {
        // 2^26 slots of 64 bytes are 2^32 bytes: unchecked, the size wraps to one line.
        Assert.Throws<OverflowException>(() => SlotTable.Allocate(1 << 26));
    }
}

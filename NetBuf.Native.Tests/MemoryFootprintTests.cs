using System.Runtime.InteropServices;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Creating a pool touches no data page: resident memory grows with the metadata (16 bytes a
/// buffer) and with the buffers actually written, not with the block. The process's resident size
/// comes from Linux's /proc/self/status (an upper bound: a collection may give memory back between
/// two readings, never take more), the block's own resident pages from <c>mincore</c> (exact);
/// elsewhere these tests are skipped.
/// </summary>
[NonParallelizable]
public sealed partial class MemoryFootprintTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public void A_two_gigabyte_pool_costs_only_its_metadata_until_buffers_are_used()
    {
        long before = ResidentBytes();
        using var pool = new NetBufPool(1_000_000, 2048);
        long created = ResidentBytes();

        // 16 MB of slots plus a little; the 2 GB block itself is not resident.
        Assert.That(created - before, Is.LessThan(64 * MiB), "creation must not touch the block");

        // 10,000 buffers: 20 MB, well above the noise of the runtime's own memory.
        var ring = new NetBufPtr[10_000];
        Assert.That(pool.TryAllocBulk(ring), Is.True);
        foreach (var p in ring)
        {
            var buf = pool.FromBufPtr(p);
            buf.RawBuffer.Fill(0xAB);
            buf.Dispose();
        }

        long used = ResidentBytes();
        Assert.That(used - created, Is.LessThan(80 * MiB));
        Assert.That(BlockResidentBytes(pool), Is.InRange(10_000L * 2048, (10_000L * 2048) + (4 * MiB)), "the 10,000 buffers written are resident, about 20 MB of the 2 GB");
    }

    [Test]
    public void PreFault_makes_the_block_resident_and_zeroed_at_creation()
    {
        using var pool = new NetBufPool(32_768, 2048, new NetBufPoolOptions { PreFault = true });
        // The process's resident size said this less surely (it failed once with 47.5 of 48 MiB, a
        // collection having given other memory back in between): the block's own pages say it exactly.
        Assert.That(BlockResidentBytes(pool), Is.EqualTo(pool.BlockLength), "the 64 MB block is faulted in");

        using var buf = pool.Alloc();
        Assert.That(buf.RawBuffer.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "zeroed");
    }

    /// <summary>Bytes of the pool's block resident now, by <c>mincore</c> over its pages.</summary>
    private static unsafe long BlockResidentBytes(NetBufPool pool)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("page residency is read with Linux's mincore");
        }

        long page = Environment.SystemPageSize;
        long start = (long)pool.BlockAddress & ~(page - 1);
        long end = (long)pool.BlockAddress + pool.BlockLength;
        long pages = (end - start + page - 1) / page;
        byte[] vector = new byte[pages];
        fixed (byte* v = vector)
        {
            // Sound: mincore writes one byte per page of the range into the vector, which has that many.
            Assert.That(MinCore((void*)start, (nuint)(end - start), v), Is.Zero, $"mincore failed: errno {Marshal.GetLastPInvokeError()}");
        }

        long resident = 0;
        for (long i = 0; i < pages; i++)
        {
            if ((vector[i] & 1) != 0)
            {
                // Only the part of the page inside the block counts.
                long pageStart = start + (i * page);
                resident += Math.Min(end, pageStart + page) - Math.Max((long)pool.BlockAddress, pageStart);
            }
        }

        return resident;
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int MinCore(void* address, nuint length, byte* vector);

    private static long ResidentBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("resident memory is read from /proc/self/status");
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        long kib = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return kib * 1024;
    }
}

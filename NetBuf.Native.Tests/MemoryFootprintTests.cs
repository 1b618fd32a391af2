using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Creating a pool touches no data page: resident memory grows with the metadata (16 bytes a
/// buffer) and with the buffers actually written, not with the block. Read from Linux's
/// /proc/self/status; elsewhere these tests are skipped.
/// </summary>
[NonParallelizable]
public sealed class MemoryFootprintTests
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
        Assert.That(used - created, Is.GreaterThan(15 * MiB), "writing 10,000 buffers makes about 20 MB resident");
        Assert.That(used - created, Is.LessThan(80 * MiB));
    }

    [Test]
    public void PreFault_makes_the_block_resident_and_zeroed_at_creation()
    {
        long before = ResidentBytes();
        using var pool = new NetBufPool(32_768, 2048, new NetBufPoolOptions { PreFault = true });
        long created = ResidentBytes();
        Assert.That(created - before, Is.GreaterThan(48 * MiB), "the 64 MB block is faulted in");

        using var buf = pool.Alloc();
        Assert.That(buf.RawBuffer.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "zeroed");
    }

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

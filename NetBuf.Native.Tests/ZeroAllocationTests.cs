using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The hot paths allocate nothing on the GC heap once warm (a thread's cache and a buffer's memory
/// manager are made once). Measured with the runtime's per-thread allocation counter, not time.
/// </summary>
[TestFixture(0)]
[TestFixture(32)]
public sealed class ZeroAllocationTests(int cacheSize)
{
    private delegate void Work(NetBufPool pool);

    private static readonly (string Name, Work Body)[] Paths =
    [
        ("Alloc+Dispose", static pool => { using var buf = pool.Alloc(); buf.Append(64).Fill(1); }),
        ("TryAlloc+Dispose", static pool => { if (pool.TryAlloc(out var buf)) { buf.Dispose(); } }),
        ("AllocBoxed+Dispose", static pool => pool.AllocBoxed().Dispose()),
        ("IntoBufPtr+FromBufPtr", static pool => pool.FromBufPtr(pool.Alloc().IntoBufPtr()).Dispose()),
        ("IntoBox+IntoNetBuf", static pool => pool.Alloc().IntoBox().IntoNetBuf().Dispose()),
        ("regions", static pool =>
        {
            using var buf = pool.Alloc();
            buf.ReserveHeadroom(64);
            buf.Append(50);
            buf.Prepend(14);
            buf.TrimStart(14);
            buf.TrimEnd(10);
            _ = buf.PacketWithHeader.Length + buf.Header.Length + buf.RawBuffer.Length;
        }),
        ("PacketMemory+PacketSequence", static pool => { using var buf = pool.Alloc(); _ = buf.PacketMemory.Length + buf.PacketSequence.Length; }),
        ("worker Alloc+Dispose", static pool =>
        {
            using var worker = pool.OpenWorker();
            for (int i = 0; i < 4; i++)
            {
                using var buf = worker.Alloc();
                buf.Append(64).Fill(2);
            }
        }),
        ("worker batch of 32", static pool =>
        {
            using var worker = pool.OpenWorker();
            using var batch = worker.AllocBatch(NetBufBatch.MaxCount);
            var taken = batch.Take(3);
            batch.Add(ref taken);
            batch[0].Append(10);
        }),
        ("bulk of 32", static pool =>
        {
            Span<NetBufPtr> ring = stackalloc NetBufPtr[32];
            if (pool.TryAllocBulk(ring))
            {
                pool.FreeBulk(ring);
            }
        }),
    ];

    [Test]
    public void Every_hot_path_allocates_nothing_once_warm()
    {
        using var pool = new NetBufPool(256, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        foreach (var (name, body) in Paths)
        {
            for (int i = 0; i < 300; i++)
            {
                body(pool);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2000; i++)
            {
                body(pool);
            }

            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, name);
        }

        Assert.That(pool.Available, Is.EqualTo(256));
    }
}

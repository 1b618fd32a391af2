using System.Runtime.CompilerServices;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// When the native block may be freed: a pool collected with buffers out leaks its block on
/// purpose (and counts it), one collected with every buffer back frees it, and pins keep it.
/// </summary>
[NonParallelizable]
public sealed class PoolLifetimeTests
{
    [Test]
    public void A_pool_collected_with_a_buffer_out_leaks_its_block_and_counts_it()
    {
        long blocks = PoolBlock.LeakedBlocks;
        long bytes = PoolBlock.LeakedBytes;
        WeakReference pool = AbandonPool(leaveBufferOut: true, out WeakReference block);
        Collect();
        Assert.That(pool.IsAlive, Is.False, "the pool was collected");
        Assert.That(block.IsAlive, Is.False, "its block's owner was finalized");
        Assert.That(PoolBlock.LeakedBlocks, Is.EqualTo(blocks + 1));
        Assert.That(PoolBlock.LeakedBytes - bytes, Is.EqualTo(16L * 2048));
    }

    [Test]
    public void A_pool_collected_with_every_buffer_back_frees_its_block()
    {
        long blocks = PoolBlock.LeakedBlocks;
        WeakReference pool = AbandonPool(leaveBufferOut: false, out WeakReference block);
        Collect();
        Assert.That(pool.IsAlive, Is.False);
        Assert.That(block.IsAlive, Is.False);
        Assert.That(PoolBlock.LeakedBlocks, Is.EqualTo(blocks), "nothing leaked");
    }

    [Test]
    public void The_leak_counters_are_published_as_metrics()
    {
        var seen = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName && instrument.Name.StartsWith("netbuf.pool.leaked", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();
        _ = AbandonPool(leaveBufferOut: true, out _);
        Collect();
        listener.RecordObservableInstruments();
        Assert.That(seen["netbuf.pool.leaked_blocks"], Is.EqualTo(PoolBlock.LeakedBlocks).And.GreaterThan(0));
        Assert.That(seen["netbuf.pool.leaked_bytes"], Is.EqualTo(PoolBlock.LeakedBytes).And.GreaterThan(0));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AbandonPool(bool leaveBufferOut, out WeakReference block)
    {
        var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        block = new WeakReference(pool.Memory);
        var box = pool.AllocBoxed();
        box.AsNetBuf().Append(10).Fill(1);
        if (!leaveBufferOut)
        {
            box.Dispose();
        }

        return new WeakReference(pool);
    }

    private static void Collect()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}

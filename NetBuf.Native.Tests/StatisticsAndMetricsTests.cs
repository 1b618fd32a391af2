using System.Diagnostics.Metrics;
using NUnit.Framework;

namespace NetBufNative.Tests;

[TestFixture(0)]
[TestFixture(16)]
public sealed class StatisticsAndMetricsTests(int cacheSize)
{
    [Test]
    public void Statistics_count_allocations_frees_failures_and_the_high_water_mark()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        Assert.That(pool.GetStatistics(), Is.EqualTo(new NetBufPoolStatistics(64, 0, 64, 0, 0, 0, 0)));

        var boxes = new List<NetBufBox>();
        for (int i = 0; i < 40; i++)
        {
            boxes.Add(pool.AllocBoxed());
        }

        boxes.GetRange(0, 30).ForEach(b => b.Dispose());
        var ring = new NetBufPtr[10];
        Assert.That(pool.TryAllocBulk(ring), Is.True);
        Assert.That(pool.TryAllocBulk(new NetBufPtr[60]), Is.False);
        Assert.That(pool.TryAlloc(out var one), Is.True, "14 buffers are still free");
        one.Dispose();

        var stats = pool.GetStatistics();
        Assert.That(stats.Capacity, Is.EqualTo(64));
        Assert.That(stats.InUse, Is.EqualTo(20));
        Assert.That(stats.Available, Is.EqualTo(64 - stats.InUse));
        Assert.That(stats.TotalAllocations, Is.EqualTo(51));
        Assert.That(stats.TotalFrees, Is.EqualTo(31));
        Assert.That(stats.AllocationFailures, Is.EqualTo(1));
        // Exact without a cache; with one it is sampled at refills and may trail by a cache's size.
        Assert.That(stats.HighWaterMark, Is.InRange(40 - cacheSize, 64));

        boxes.GetRange(30, 10).ForEach(b => b.Dispose());
        pool.FreeBulk(ring);
        stats = pool.GetStatistics();
        Assert.That(stats.InUse, Is.Zero);
        Assert.That(stats.TotalFrees, Is.EqualTo(stats.TotalAllocations));
        Assert.That(stats.HighWaterMark, Is.InRange(40 - cacheSize, 64), "the mark stays");

        for (int i = 0; i < 64; i++)
        {
            _ = pool.AllocBoxed();
        }

        Assert.Throws<NetBufPoolExhaustedException>(() => pool.AllocBoxed());
        stats = pool.GetStatistics();
        Assert.That(stats.HighWaterMark, Is.EqualTo(64));
        Assert.That(stats.AllocationFailures, Is.EqualTo(2));
    }

    [Test]
    public void Counts_of_threads_that_exited_survive_Trim()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                pool.AllocBoxed().Dispose();
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);
        pool.Trim();
        var stats = pool.GetStatistics();
        Assert.That(stats.TotalAllocations, Is.EqualTo(400));
        Assert.That(stats.TotalFrees, Is.EqualTo(400));
        Assert.That(pool.ThreadCacheCount, Is.LessThanOrEqualTo(1), "the exited threads' caches are gone");
    }

    [Test]
    public void A_MeterListener_sees_the_pool_figures_tagged_with_its_name()
    {
        string name = $"metrics-{cacheSize}-{Guid.NewGuid():N}";
        using var pool = new NetBufPool(32, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize, Name = name });
        var held = new[] { pool.AllocBoxed(), pool.AllocBoxed(), pool.AllocBoxed() };
        pool.AllocBoxed().Dispose();

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == NetBufMetrics.PoolNameTag && (string?)tag.Value == name)
                {
                    seen[instrument.Name] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.That(seen["netbuf.pool.capacity"], Is.EqualTo(32));
        Assert.That(seen["netbuf.pool.in_use"], Is.EqualTo(3));
        Assert.That(seen["netbuf.pool.high_water_mark"], Is.GreaterThanOrEqualTo(3));
        Assert.That(seen["netbuf.pool.allocations"], Is.EqualTo(4));
        Assert.That(seen["netbuf.pool.frees"], Is.EqualTo(1));
        Assert.That(seen["netbuf.pool.allocation_failures"], Is.Zero);

        foreach (var box in held)
        {
            box.Dispose();
        }

        pool.Dispose();
        seen.Clear();
        listener.RecordObservableInstruments();
        Assert.That(seen, Is.Empty, "a disposed pool is no longer reported");
    }
}

using System.Diagnostics.Metrics;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// The library's <see cref="System.Diagnostics.Metrics"/> instruments: every live
/// <see cref="NetBufPool"/>'s statistics, observed on demand (nothing is recorded on the hot
/// path), each measurement tagged with the pool's name. Listen with
/// <c>dotnet-counters monitor --counters NetBuf.Native</c>, an OpenTelemetry exporter
/// (<c>AddMeter("NetBuf.Native")</c>) or a <see cref="MeterListener"/>.
/// </summary>
/// <remarks>Thread-safe. Pools register when created and unregister when disposed; an abandoned
/// pool is held weakly and disappears when collected. <c>netbuf.pool.leaked_blocks</c> and
/// <c>netbuf.pool.leaked_bytes</c> (process-wide, untagged) count the blocks of pools that were
/// collected without being disposed while buffers were still out: such a block is never freed,
/// because a span or a device may still point into it.</remarks>
public static class NetBufMetrics
{
    /// <summary>The meter's name: the library's.</summary>
    public const string MeterName = "NetBuf.Native";

    /// <summary>The tag that carries a pool's <see cref="NetBufPool.Name"/> on every measurement.</summary>
    public const string PoolNameTag = "netbuf.pool.name";

    private static readonly Lock s_poolsLock = new();
    private static readonly List<WeakReference<NetBufPool>> s_pools = [];
    private static readonly Meter s_meter = CreateMeter();

    /// <summary>The meter all instruments belong to.</summary>
    internal static Meter Meter => s_meter;

    internal static void Register(NetBufPool pool)
    {
        lock (s_poolsLock)
        {
            s_pools.RemoveAll(static w => !w.TryGetTarget(out _));
            s_pools.Add(new WeakReference<NetBufPool>(pool));
        }
    }

    internal static void Unregister(NetBufPool pool)
    {
        lock (s_poolsLock)
        {
            s_pools.RemoveAll(w => !w.TryGetTarget(out NetBufPool? p) || ReferenceEquals(p, pool));
        }
    }

    private static Meter CreateMeter()
    {
        var meter = new Meter(MeterName, typeof(NetBufMetrics).Assembly.GetName().Version?.ToString());
        meter.CreateObservableUpDownCounter("netbuf.pool.capacity", () => Observe(static s => s.Capacity), "{buffer}", "Buffers the pool holds.");
        meter.CreateObservableUpDownCounter("netbuf.pool.in_use", () => Observe(static s => s.InUse), "{buffer}", "Buffers out of the pool (owned, boxed or lent).");
        meter.CreateObservableGauge("netbuf.pool.high_water_mark", () => Observe(static s => s.HighWaterMark), "{buffer}", "The most buffers seen in use at once; with thread caches it can trail the true peak by up to one cache's size per thread.");
        meter.CreateObservableCounter("netbuf.pool.allocations", () => Observe(static s => s.TotalAllocations), "{buffer}", "Buffers allocated.");
        meter.CreateObservableCounter("netbuf.pool.frees", () => Observe(static s => s.TotalFrees), "{buffer}", "Buffers returned.");
        meter.CreateObservableCounter("netbuf.pool.allocation_failures", () => Observe(static s => s.AllocationFailures), "{allocation}", "Allocations that found the pool exhausted.");
        meter.CreateObservableCounter("netbuf.pool.diagnostic_reports", () => Observe(static s => s.DiagnosticReports), "{report}", "Findings of the diagnostic mode: writes after free, overflows, leaks.");
        meter.CreateObservableCounter("netbuf.pool.leaked_blocks", static () => PoolBlock.LeakedBlocks, "{block}", "Native blocks of pools collected without Dispose while buffers were still out: left allocated on purpose, since spans or devices may still use them.");
        meter.CreateObservableCounter("netbuf.pool.leaked_bytes", static () => PoolBlock.LeakedBytes, "By", "Bytes of those leaked blocks.");
        return meter;
    }

    private static List<Measurement<long>> Observe(Func<NetBufPoolStatistics, long> figure)
    {
        var measurements = new List<Measurement<long>>();
        foreach (NetBufPool pool in LivePools())
        {
            measurements.Add(new Measurement<long>(figure(pool.GetStatistics()), new KeyValuePair<string, object?>(PoolNameTag, pool.Name)));
        }

        return measurements;
    }

    private static List<NetBufPool> LivePools()
    {
        lock (s_poolsLock)
        {
            var live = new List<NetBufPool>(s_pools.Count);
            foreach (WeakReference<NetBufPool> reference in s_pools)
            {
                if (reference.TryGetTarget(out NetBufPool? pool))
                {
                    live.Add(pool);
                }
            }

            return live;
        }
    }
}

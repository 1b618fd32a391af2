using NetBufNative.Internal;
using System.Diagnostics.Metrics;

namespace NetBufNative.Processing;

/// <summary>
/// The run loop's instruments on the library's meter (<see cref="NetBufMetrics.MeterName"/>): every live
/// <see cref="PacketLoop"/>'s per-port counters (<see cref="PacketPortCounters"/>), observed on demand (nothing is recorded on
/// the data path), tagged with the loop's name and the port's device.
/// </summary>
/// <remarks>
/// Thread-safe. Loops register when made and unregister when disposed; an abandoned loop is held weakly. The instruments are
/// made when the first loop registers. Give loops distinct names (<see cref="PacketLoopOptions.Name"/>) when several serve
/// one device (one per queue), or their series merge.
/// </remarks>
internal static class PacketLoopMetrics
{
    /// <summary>The tag carrying the loop's name.</summary>
    internal const string LoopTag = "netbuf.loop";

    /// <summary>The tag carrying the port's device name.</summary>
    internal const string PortTag = "netbuf.port";

    private static readonly WeakRegistry<PacketLoop> s_loops = new(static () => CreateInstruments(NetBufMetrics.Meter));

    internal static void Register(PacketLoop loop) => s_loops.Register(loop);

    internal static void Unregister(PacketLoop loop) => s_loops.Unregister(loop);

    private static void CreateInstruments(Meter meter)
    {
        meter.CreateObservableCounter("netbuf.loop.frames", () => Observe(static (c, add) =>
        {
            add(c.Received, "direction", "rx");
            add(c.Transmitted, "direction", "tx");
        }), "{frame}", "Frames run loops received on a port, and frames a port's driver took for transmission.");
        meter.CreateObservableCounter("netbuf.loop.drops", () => Observe(static (c, add) =>
        {
            add(c.HandlerDrops, "reason", "handler");
            add(c.TxFullDrops, "reason", "tx_full");
            add(c.TxErrorDrops, "reason", "tx_error");
            add(c.DriverRxDrops, "reason", "driver_rx");
            add(c.DriverTxDrops, "reason", "driver_tx");
            add(c.KernelRxDrops, "reason", "kernel_rx");
        }), "{frame}", "Frames dropped per port, by reason: the handler's decision, a full or failing transmit, the driver, the kernel.");
        meter.CreateObservableCounter("netbuf.loop.errors", () => Observe(static (c, add) => add(c.Errors, null, null)), "{error}", "Device errors run loops counted and went on after.");
        meter.CreateObservableCounter("netbuf.loop.post_shortfalls", () => Observe(static (c, add) => add(c.PostShortfalls, null, null)), "{turn}", "Turns in which a loop could not post all the receive buffers it wanted (the pool was dry).");
    }

    private static List<Measurement<long>> Observe(Action<PacketPortCounters, Action<long, string?, string?>> figures)
    {
        List<PacketLoop> live = s_loops.Live();
        var measurements = new List<Measurement<long>>();
        foreach (PacketLoop loop in live)
        {
            foreach (PacketPortCounters port in loop.Counters)
            {
                var loopTag = new KeyValuePair<string, object?>(LoopTag, loop.Name);
                var portTag = new KeyValuePair<string, object?>(PortTag, port.Driver.DeviceName);
                figures(port, (value, key, tag) => measurements.Add(key is null
                    ? new Measurement<long>(value, loopTag, portTag)
                    : new Measurement<long>(value, loopTag, portTag, new KeyValuePair<string, object?>(key, tag))));
            }
        }

        return measurements;
    }
}

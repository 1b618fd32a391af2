using NetBufNative.Internal;
using System.Diagnostics.Metrics;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// The AF_XDP instruments of the library's meter (<see cref="NetBufMetrics.MeterName"/>): every live
/// <see cref="XdpDriver"/>'s frame counts and kernel statistics (<c>XDP_STATISTICS</c>), observed on
/// demand (nothing is recorded on the data path), tagged with the interface and queue.
/// </summary>
/// <remarks>
/// Thread-safe. Drivers register when created and unregister when disposed; an abandoned driver is
/// held weakly. The instruments are made when the first driver registers.
/// </remarks>
internal static class XdpMetrics
{
    /// <summary>The tag carrying the interface name.</summary>
    internal const string DeviceTag = "netbuf.device.name";

    /// <summary>The tag carrying the queue.</summary>
    internal const string QueueTag = "netbuf.xdp.queue";

    private static readonly WeakRegistry<XdpDriver> s_drivers = new(static () => CreateInstruments(NetBufMetrics.Meter));

    internal static void Register(XdpDriver driver) => s_drivers.Register(driver);

    internal static void Unregister(XdpDriver driver) => s_drivers.Unregister(driver);

    private static void CreateInstruments(Meter meter)
    {
        meter.CreateObservableCounter("netbuf.xdp.rx_frames", () => Observe(static (d, _) => d.RxFrames), "{frame}", "Frames received by AF_XDP drivers.");
        meter.CreateObservableCounter("netbuf.xdp.tx_frames", () => Observe(static (d, _) => d.TxFrames), "{frame}", "Frames handed to the kernel by AF_XDP drivers.");
        meter.CreateObservableCounter("netbuf.xdp.rx_dropped", () => Observe(static (_, s) => s?.RxDropped), "{frame}", "Frames the kernel dropped before the receive ring: too long for a chunk, or (copy mode) no fill-ring buffer, so it includes rx_fill_ring_empty in copy mode (XDP_STATISTICS rx_dropped).");
        meter.CreateObservableCounter("netbuf.xdp.rx_invalid_descs", () => Observe(static (_, s) => s?.RxInvalidDescriptors), "{descriptor}", "Invalid entries of the receive ring, which the kernel writes itself: 0 (rx_invalid_descs).");
        meter.CreateObservableCounter("netbuf.xdp.tx_invalid_descs", () => Observe(static (_, s) => s?.TxInvalidDescriptors), "{descriptor}", "Transmit descriptors the kernel skipped as invalid (tx_invalid_descs).");
        meter.CreateObservableCounter("netbuf.xdp.rx_ring_full", () => Observe(static (_, s) => s?.RxRingFull), "{frame}", "Frames dropped on a full receive ring (rx_ring_full).");
        meter.CreateObservableCounter("netbuf.xdp.rx_fill_ring_empty", () => Observe(static (_, s) => s?.RxFillRingEmpty), "{frame}", "Times the kernel found the fill ring empty when it needed a buffer; in copy mode each is a frame dropped, also in rx_dropped (rx_fill_ring_empty_descs).");
        meter.CreateObservableCounter("netbuf.xdp.tx_ring_empty", () => Observe(static (_, s) => s?.TxRingEmpty), "{event}", "Times the kernel's transmit path found the transmit ring empty; not drops (tx_ring_empty_descs).");
    }

    private static List<Measurement<long>> Observe(Func<XdpDriver, XdpStatistics?, long?> figure)
    {
        List<XdpDriver> live = s_drivers.Live();
        var measurements = new List<Measurement<long>>(live.Count);
        foreach (XdpDriver driver in live)
        {
            XdpStatistics? statistics = driver.TryGetStatistics();
            if (statistics is not null && figure(driver, statistics) is long value)
            {
                measurements.Add(new Measurement<long>(
                    value,
                    new KeyValuePair<string, object?>(DeviceTag, driver.DeviceName),
                    new KeyValuePair<string, object?>(QueueTag, driver.QueueId)));
            }
        }

        return measurements;
    }
}

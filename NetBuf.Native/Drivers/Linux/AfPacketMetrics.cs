using NetBufNative.Internal;
using System.Diagnostics.Metrics;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The AF_PACKET instruments of the library's meter (<see cref="NetBufMetrics.MeterName"/>): every live
/// <see cref="AfPacketDriver"/>'s frame counts and the kernel's totals of its socket (<c>PACKET_STATISTICS</c>),
/// observed on demand (nothing is recorded on the data path), tagged with the interface and the socket.
/// </summary>
/// <remarks>
/// Thread-safe. Drivers register when created and unregister when disposed; an abandoned driver is held weakly. The
/// instruments are made when the first driver registers. Several drivers may serve one interface (a fanout group), so
/// each measurement also carries the driver's number (<c>netbuf.afpacket.socket</c>, 1 for the process's first driver,
/// then 2, ...): measurements with the same tags would be taken for one series.
/// </remarks>
internal static class AfPacketMetrics
{
    /// <summary>The tag carrying the driver's socket number.</summary>
    internal const string SocketTag = "netbuf.afpacket.socket";

    private static readonly WeakRegistry<AfPacketDriver> s_drivers = new(static () => CreateInstruments(NetBufMetrics.Meter));

    internal static void Register(AfPacketDriver driver) => s_drivers.Register(driver);

    internal static void Unregister(AfPacketDriver driver) => s_drivers.Unregister(driver);

    private static void CreateInstruments(Meter meter)
    {
        meter.CreateObservableCounter("netbuf.afpacket.rx_frames", () => Observe(static (d, _) => d.RxFrames), "{frame}", "Frames received by AF_PACKET drivers.");
        meter.CreateObservableCounter("netbuf.afpacket.tx_frames", () => Observe(static (d, _) => d.TxFrames), "{frame}", "Frames handed to the kernel by AF_PACKET drivers.");
        meter.CreateObservableCounter("netbuf.afpacket.socket_packets", () => Observe(static (_, s) => s.Packets), "{frame}", "Frames that reached the socket, queued or dropped (PACKET_STATISTICS tp_packets, totalled).");
        meter.CreateObservableCounter("netbuf.afpacket.socket_drops", () => Observe(static (_, s) => s.Drops), "{frame}", "Frames the kernel dropped because the socket's receive queue was full (PACKET_STATISTICS tp_drops, totalled).");
    }

    private static List<Measurement<long>> Observe(Func<AfPacketDriver, AfPacketStatistics, long> figure)
    {
        List<AfPacketDriver> live = s_drivers.Live();
        var measurements = new List<Measurement<long>>(live.Count);
        foreach (AfPacketDriver driver in live)
        {
            AfPacketStatistics? statistics = driver.TryGetStatistics();
            if (statistics is not null)
            {
                measurements.Add(new Measurement<long>(
                    figure(driver, statistics),
                    new KeyValuePair<string, object?>(Xdp.XdpMetrics.DeviceTag, driver.DeviceName),
                    new KeyValuePair<string, object?>(SocketTag, driver.SocketNumber)));
            }
        }

        return measurements;
    }
}

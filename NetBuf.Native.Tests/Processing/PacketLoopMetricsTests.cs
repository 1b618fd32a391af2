using System.Diagnostics.Metrics;
using NetBufNative.Drivers;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Processing;

/// <summary>The run loop's instruments: each port's counters as <c>netbuf.loop.*</c> measurements, tagged with the loop and the port, while the loop lives.</summary>
public sealed class PacketLoopMetricsTests
{
    [Test]
    public void A_MeterListener_sees_each_ports_counters_tagged_with_the_loop_and_the_port_until_the_loop_is_disposed()
    {
        using var pool = new NetBufPool(256, 2048);
        (LoopbackDriver host, LoopbackDriver port) = LoopbackDriver.CreatePair(pool, 16);
        string name = $"metrics-loop-{Guid.NewGuid():N}";
        var loop = new PacketLoop([port], batch => batch.Drop(0), new PacketLoopOptions { Name = name });
        try
        {
            _ = loop.RunOnce();
            for (int i = 0; i < 3; i++)
            {
                Assert.That(host.TryTransmit(host.AllocTxBuffer(60)), Is.True);
            }

            Assert.That(loop.RunOnce(), Is.EqualTo(3));
            Dictionary<string, long> seen = Record(name);
            Assert.That(seen["netbuf.loop.frames/rx/" + port.DeviceName], Is.EqualTo(3));
            Assert.That(seen["netbuf.loop.frames/tx/" + port.DeviceName], Is.Zero);
            Assert.That(seen["netbuf.loop.drops/handler/" + port.DeviceName], Is.EqualTo(3));
            Assert.That(seen["netbuf.loop.drops/tx_full/" + port.DeviceName], Is.Zero);
            Assert.That(seen["netbuf.loop.drops/kernel_rx/" + port.DeviceName], Is.Zero, "loopback has no kernel");
            Assert.That(seen["netbuf.loop.errors/" + port.DeviceName], Is.Zero);
            Assert.That(seen["netbuf.loop.post_shortfalls/" + port.DeviceName], Is.Zero);

            loop.Dispose();
            Assert.That(Record(name), Is.Empty, "a disposed loop is no longer reported");
        }
        finally
        {
            loop.Dispose();
            host.Dispose();
            port.Dispose();
        }
    }

    /// <summary>The loop's measurements, keyed "instrument[/direction or reason]/port".</summary>
    private static Dictionary<string, long> Record(string loopName)
    {
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName && instrument.Name.StartsWith("netbuf.loop.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? loop = null;
            string? port = null;
            string? detail = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                switch (tag.Key)
                {
                    case "netbuf.loop":
                        loop = (string?)tag.Value;
                        break;
                    case "netbuf.port":
                        port = (string?)tag.Value;
                        break;
                    default:
                        detail = (string?)tag.Value;
                        break;
                }
            }

            if (loop == loopName)
            {
                seen[detail is null ? $"{instrument.Name}/{port}" : $"{instrument.Name}/{detail}/{port}"] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}

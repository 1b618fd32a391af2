using System.Text.Json;

namespace NetBufNative.Bench.Drivers;

/// <summary>One interface's kernel counters (<c>/sys/class/net/DEV/statistics</c>), as <c>ip -s -j link show</c> prints them.</summary>
/// <param name="RxPackets">Frames the interface received.</param>
/// <param name="RxDropped">Frames it received and dropped (a veth's: the peer's frames it could not queue; a host's stack's drops are not here).</param>
/// <param name="TxPackets">Frames it sent.</param>
/// <param name="TxDropped">Frames given to it that it dropped (a veth: its peer's backlog or ring was full; a TAP device: the program's queue was full).</param>
internal readonly record struct LinkCounters(long RxPackets, long RxDropped, long TxPackets, long TxDropped)
{
    /// <summary>Every interface of a namespace, by name: one <c>ip</c> call, so all are read at about one moment.</summary>
    public static Dictionary<string, LinkCounters> Read(BenchNamespace ns)
    {
        using JsonDocument document = JsonDocument.Parse(ns.Ip("-s", "-j", "link", "show"));
        var links = new Dictionary<string, LinkCounters>(StringComparer.Ordinal);
        foreach (JsonElement link in document.RootElement.EnumerateArray())
        {
            if (!link.TryGetProperty("stats64", out JsonElement stats))
            {
                continue;
            }

            JsonElement rx = stats.GetProperty("rx");
            JsonElement tx = stats.GetProperty("tx");
            links[link.GetProperty("ifname").GetString()!] = new LinkCounters(
                rx.GetProperty("packets").GetInt64(), rx.GetProperty("dropped").GetInt64(), tx.GetProperty("packets").GetInt64(), tx.GetProperty("dropped").GetInt64());
        }

        return links;
    }

    /// <summary>The counts from <paramref name="before"/> to this reading.</summary>
    public LinkCounters Since(LinkCounters before) =>
        new(RxPackets - before.RxPackets, RxDropped - before.RxDropped, TxPackets - before.TxPackets, TxDropped - before.TxDropped);
}

using System.Globalization;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The drivers mode: in one run, the loopback cycle beside the cached alloc+free pair, then the echo
/// rate of every path at 64- and 1514-byte frames (ours over TAP and AF_PACKET, single, batched and a
/// fanout of 2 workers; the SharpPcap + PacketDotNet responder; the kernel's own echo), with bytes
/// allocated per frame and the ratios the performance goals name.
/// </summary>
internal static class ComparisonTable
{
    private static readonly (string Path, string Label, int Batch)[] Paths =
    [
        ("tap", "ours, TAP, single", 1),
        ("tap", "ours, TAP, batches of 32", 32),
        ("afpacket", "ours, AF_PACKET, single", 1),
        ("afpacket", "ours, AF_PACKET, batches of 32", 32),
        ("fanout", "ours, AF_PACKET fanout, 2 workers", 32),
        ("sharppcap", "SharpPcap 6.3.1 + PacketDotNet 1.4.8", 1),
        ("kernel", "the kernel's own echo", 1),
    ];

    public static void Run(TimeSpan duration, int inFlight)
    {
        Console.WriteLine("// Loopback cycle (alloc -> transmit -> receive -> recycle) beside the cached alloc+free pair, process CPU time, best of 5 x 1,000,000");
        Console.WriteLine("| frame | cycle | alloc+free pair | cycle / pair (goal <= 3) | B/cycle | B/pair |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (int frame in new[] { 64, 1514 })
        {
            var (cycle, pair, cycleBytes, pairBytes) = LoopbackRig.Cycle(frame);
            Console.WriteLine(Text($"| {frame} B | {cycle:0.0} ns | {pair:0.0} ns | {cycle / pair:0.00} | {cycleBytes:0.##} | {pairBytes:0.##} |"));
        }

        string? noPcap = Requirements.EnsureLibpcap();
        Console.WriteLine();
        Console.WriteLine(Text($"// Echo rate: a raw-socket pinger in the namespace keeps {inFlight} requests in flight; {duration.TotalSeconds:0} s measured per row after a 0.7 s warm-up; B/frame: GC bytes per received frame on the responder's threads"));
        var results = new List<EchoResult>();
        foreach (int frame in new[] { 64, 1514 })
        {
            foreach ((string path, string label, int batch) in Paths)
            {
                if (path == "sharppcap" && noPcap is not null)
                {
                    Console.WriteLine($"  {label}: skipped, {noPcap}");
                    continue;
                }

                try
                {
                    EchoResult result = EchoRig.Measure(path, label, batch, frame, inFlight, duration, progress: false);
                    results.Add(result);
                    Console.WriteLine(Text($"  {label}, {frame} B: {result.PacketsPerSecond:N0}/s"));
                }
#pragma warning disable CA1031 // A failed row is reported and the table goes on.
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    Console.WriteLine($"  {label}, {frame} B: failed: {exception.Message}");
                }
            }
        }

        Console.WriteLine();
        Machine.Print();
        Console.WriteLine("| frame | path | echoes/s | B/frame | x SharpPcap (goal >= 10) | kernel / ours (goal <= 1.5) |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|");
        foreach (EchoResult result in results)
        {
            EchoResult? pcap = results.FirstOrDefault(r => r.FrameLength == result.FrameLength && r.Path.StartsWith("SharpPcap", StringComparison.Ordinal));
            EchoResult? kernel = results.FirstOrDefault(r => r.FrameLength == result.FrameLength && r.Path.StartsWith("the kernel", StringComparison.Ordinal));
            bool ours = result.Path.StartsWith("ours", StringComparison.Ordinal);
            string versusPcap = ours && pcap is { PacketsPerSecond: > 0 } ? Text($"{result.PacketsPerSecond / pcap.PacketsPerSecond:0.0}") : "";
            string versusKernel = ours && kernel is not null && result.PacketsPerSecond > 0 ? Text($"{kernel.PacketsPerSecond / result.PacketsPerSecond:0.00}") : "";
            string bytes = result.BytesPerPacket is double b ? Text($"{b:0.##}") : "n/a";
            Console.WriteLine(Text($"| {result.FrameLength} B | {result.Path} | {result.PacketsPerSecond:N0} | {bytes} | {versusPcap} | {versusKernel} |"));
        }
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

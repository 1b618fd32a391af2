using System.Globalization;
using NetBufNative.Processing;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The benchmark program's driver modes (they need root on Linux; each makes and removes its own
/// namespaces, and every loop is bounded in time):
/// <c>responder --driver loopback|tap|afpacket [--seconds N] [--in-flight N] [--batch N] [--frame N]</c> runs the
/// responder and prints the pinger's replies per second as it goes;
/// <c>drivers [--seconds N] [--in-flight N]</c> measures every path in one run and prints the comparison table;
/// <c>forward</c> and <c>macswap [--driver afpacket|xdp|tap|all] [--mode blocking|busy|adaptive|all] [--frame 64|1514|both] [--seconds N] [--rounds N]</c>
/// measure frames per second through <see cref="Apps.L2Forwarder"/> and <see cref="Apps.MacSwapReflector"/> under a flood;
/// <c>latency [--driver ...] [--mode ...] [--seconds N] [--rounds N]</c> times echo round trips through the bridge beside the kernel's;
/// <c>versus [--app responder|forward|macswap|all] [--driver afpacket|xdp|tap|all] [--frame 64|1514|both] [--load flood|closed|both] [--seconds N] [--rounds N]</c>
/// runs the apps beside DPDK's testpmd (<see cref="Versus"/>).
/// </summary>
internal static class DriverModes
{
    /// <summary>Runs a driver mode if <paramref name="args"/> asks for one; null otherwise.</summary>
    public static int? TryRun(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("responder" or "drivers" or "forward" or "macswap" or "latency" or "versus"))
        {
            return null;
        }

        if (args[0] == "versus")
        {
            return Versus.Run(args);
        }

        string mode = args[0];
        if (mode is "forward" or "macswap" or "latency")
        {
            return RunLoopMode(mode, args);
        }

        string driver = Option(args, "--driver") ?? "afpacket";
        int seconds = int.Parse(Option(args, "--seconds") ?? (mode == "responder" ? "10" : "3"), CultureInfo.InvariantCulture);
        int inFlight = int.Parse(Option(args, "--in-flight") ?? "64", CultureInfo.InvariantCulture);
        int batch = int.Parse(Option(args, "--batch") ?? "32", CultureInfo.InvariantCulture);
        int frame = int.Parse(Option(args, "--frame") ?? "64", CultureInfo.InvariantCulture);
        if (seconds is < 1 or > 600 || inFlight is < 1 or > 1024 || batch is < 1 or > 1024 || frame is < 64 or > 1514)
        {
            Console.Error.WriteLine("--seconds 1..600, --in-flight 1..1024, --batch 1..1024, --frame 64..1514 (an Ethernet frame's length)");
            return 2;
        }

        if (driver is not ("loopback" or "tap" or "afpacket"))
        {
            Console.Error.WriteLine("--driver loopback, tap or afpacket");
            return 2;
        }

        string? missing = mode == "responder" && driver == "loopback" ? null : Requirements.Missing();
        if (missing is not null)
        {
            return Requirements.Refuse(mode, missing);
        }

        Machine.Print();
        var duration = TimeSpan.FromSeconds(seconds);
        if (mode == "responder")
        {
            Console.WriteLine($"// responder over {driver}: {frame}-byte frames, batches of {batch}, {inFlight} echo requests in flight, {seconds} s");
            EchoResult result = driver == "loopback"
                ? LoopbackRig.Responder(batch, frame, inFlight, duration, progress: true)
                : EchoRig.Measure(driver, driver, batch, frame, inFlight, duration, progress: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Path}: {result.PacketsPerSecond:N0} echoes/s, {result.BytesPerPacket:0.##} B allocated per frame on the responder's thread"));
            return 0;
        }

        ComparisonTable.Run(duration, inFlight);
        return 0;
    }

    /// <summary>The forward, macswap and latency modes: options checked, requirements said, the table printed.</summary>
    private static int RunLoopMode(string mode, string[] args)
    {
        string driver = Option(args, "--driver") ?? "all";
        string polling = Option(args, "--mode") ?? (mode == "latency" ? "adaptive,busy" : "all");
        BridgeTopology.AfPacketReceiveRing = !args.Contains("--recvmmsg");
        BridgeTopology.AfPacketTransmitRing = args.Contains("--tx-ring");
        BridgeTopology.XdpBusyPollBudget = int.TryParse(Option(args, "--xdp-busy-poll"), NumberStyles.None, CultureInfo.InvariantCulture, out int budget) ? budget : 0;
        string frame = Option(args, "--frame") ?? "both";
        string[] drivers = driver == "all" ? (mode == "forward" ? ["afpacket", "xdp", "tap", "kernel"] : ["afpacket", "xdp", "tap"]) : driver.Split(',');
        bool kernelAllowed = mode != "macswap";
        if (drivers.Any(d => d is not ("afpacket" or "xdp" or "tap" or "kernel") || (d == "kernel" && !kernelAllowed)))
        {
            Console.Error.WriteLine($"--driver afpacket, xdp, tap{(kernelAllowed ? ", kernel" : "")} or all (a comma-separated list works too)");
            return 2;
        }

        PollingMode[] modes;
        try
        {
            modes = polling == "all"
                ? [PollingMode.Blocking, PollingMode.BusyPoll, PollingMode.Adaptive]
                : [.. polling.Split(',').Select(m => m switch
                {
                    "blocking" => PollingMode.Blocking,
                    "busy" => PollingMode.BusyPoll,
                    "adaptive" => PollingMode.Adaptive,
                    _ => throw new FormatException(m),
                })];
        }
        catch (FormatException)
        {
            Console.Error.WriteLine("--mode blocking, busy, adaptive or all (a comma-separated list works too)");
            return 2;
        }

        int[]? frames = frame switch
        {
            "64" => [64],
            "1514" => [1514],
            "both" => [64, 1514],
            _ => null,
        };
        int seconds = int.TryParse(Option(args, "--seconds") ?? "2", NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : -1;
        int rounds = int.TryParse(Option(args, "--rounds") ?? "3", NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r : -1;
        if (frames is null || seconds is < 1 or > 600 || rounds is < 1 or > 20)
        {
            Console.Error.WriteLine("--frame 64, 1514 or both; --seconds 1..600 (per row and round); --rounds 1..20");
            return 2;
        }

        string? missing = Requirements.Missing();
        if (missing is not null)
        {
            return Requirements.Refuse(mode, missing);
        }

        Machine.Print();
        BridgeTopology.PrintAfPacketReceivePath(drivers.Contains("afpacket"));
        if (mode == "latency")
        {
            BridgeLatency.Run(drivers, modes, TimeSpan.FromSeconds(seconds), rounds);
        }
        else
        {
            LoopThroughput.Run(mode == "macswap", drivers, modes, frames, TimeSpan.FromSeconds(seconds), rounds);
        }

        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

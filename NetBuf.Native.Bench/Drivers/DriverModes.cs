using System.Globalization;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The benchmark program's driver modes (they need root on Linux; each makes and removes its own
/// namespaces, and every loop is bounded in time):
/// <c>responder --driver loopback|tap|afpacket [--seconds N] [--in-flight N] [--batch N] [--frame N]</c> runs the
/// responder and prints the pinger's replies per second as it goes;
/// <c>drivers [--seconds N] [--in-flight N]</c> measures every path in one run and prints the comparison table.
/// </summary>
internal static class DriverModes
{
    /// <summary>Runs a driver mode if <paramref name="args"/> asks for one; null otherwise.</summary>
    public static int? TryRun(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("responder" or "drivers"))
        {
            return null;
        }

        string mode = args[0];
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

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

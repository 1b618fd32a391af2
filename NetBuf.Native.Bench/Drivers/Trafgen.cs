using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// netsniff-ng's <c>trafgen</c> as an open-loop flood on a host's interface: copies of one frame (given as its bytes, so
/// it is exactly the frame our own generator would send) as fast as one CPU sends them, pinned to that CPU
/// (<c>taskset</c>). It does not receive: what comes back is read from the interfaces' counters. It leaves the machine's
/// socket memory settings alone (<c>--no-sock-mem</c>), stops after a frame count that bounds it should nobody stop it,
/// and is killed by <see cref="Dispose"/>.
/// </summary>
internal sealed class Trafgen : IDisposable
{
    /// <summary>
    /// Frames per second of the bound on a run's frame count (should this process die without killing it): twice the
    /// most trafgen was seen sending here from one CPU (about 1 M/s at 64 bytes).
    /// </summary>
    private const long BoundRate = 2_000_000;

    private readonly Process _process;
    private readonly string _configuration;

    private Trafgen(Process process, string configuration)
    {
        _process = process;
        _configuration = configuration;
    }

    /// <summary>Where <c>trafgen</c> is, or null.</summary>
    public static string? Path { get; } = new[] { "/usr/sbin/trafgen", "/usr/bin/trafgen", "/usr/local/sbin/trafgen" }.FirstOrDefault(File.Exists);

    /// <summary>What is missing for the flood, or null.</summary>
    public static string? Missing() =>
        Path is null ? "trafgen (netsniff-ng) is not installed"
        : !File.Exists("/usr/bin/taskset") ? "util-linux's taskset is missing"
        : null;

    /// <summary>Starts sending <paramref name="frame"/> on <paramref name="device"/> in <paramref name="ns"/> from <paramref name="cpu"/>;
    /// it stops by itself after about <paramref name="limit"/> (a frame count) if nobody kills it first.</summary>
    public static Trafgen Start(BenchNamespace ns, string device, byte[] frame, int? cpu, TimeSpan limit)
    {
        string configuration = System.IO.Path.Combine(System.IO.Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"nbbench-{Environment.ProcessId}-{Guid.NewGuid():N}.trafgen"));
        var text = new StringBuilder("{ ");
        _ = text.AppendJoin(", ", frame.Select(b => string.Create(CultureInfo.InvariantCulture, $"0x{b:x2}")));
        _ = text.Append(" }\n");
        File.WriteAllText(configuration, text.ToString());
        var start = new ProcessStartInfo(Requirements.IpPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] pin = cpu is int c ? ["/usr/bin/taskset", "-c", c.ToString(CultureInfo.InvariantCulture)] : [];
        string[] arguments =
        [
            "netns", "exec", ns.Name, .. pin, Path!, "--dev", device, "--conf", configuration, "--cpus", "1", "--no-sock-mem", "-q",
            "--num", ((long)(limit.TotalSeconds * BoundRate)).ToString(CultureInfo.InvariantCulture),
        ];
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process? process = null;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("trafgen did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new Trafgen(process, configuration);
        }
        catch
        {
            process?.Dispose();
            File.Delete(configuration);
            throw;
        }
    }

    /// <summary>Whether it ended by itself (a failure: it should run until killed).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills it (and its children), waits up to 10 s, removes its configuration file.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _ = _process.WaitForExit(10_000);
        }
        finally
        {
            _process.Dispose();
            File.Delete(_configuration);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// DPDK's <c>dpdk-testpmd</c> (Debian's <c>dpdk</c> package, DPDK 22.11) run in a benchmark namespace over veth ends or a
/// TAP device, without hugepages or PCI: interactive (<c>-i</c>), so the port statistics can be read at the edges of a
/// window (<c>show port stats all</c>); its forwarding core is lcore 1 (<c>-l 0-1 --nb-cores=1</c>: lcore 0 is the main
/// one, which only reads commands), where our loop is pinned too. Started by <see cref="Start"/>, stopped by
/// <see cref="Dispose"/> (<c>stop</c>, <c>quit</c>, then a kill if it has not ended within 10 s).
/// </summary>
/// <remarks>
/// Its standard output is a pipe, where the C library would buffer it in blocks (so a reply could sit in the buffer
/// while its prompt, written straight to the descriptor, arrived): it runs under <c>stdbuf -o0</c>. It makes its
/// runtime files under <c>/var/run/dpdk/PREFIX</c> with a prefix unique to the run, removed afterwards.
/// </remarks>
internal sealed partial class Testpmd : IDisposable
{
    /// <summary>The Debian packages every row with testpmd needs.</summary>
    public const string InstallLine = "apt-get install dpdk dpdk-dev librte-net-af-xdp23 librte-net-af-packet23 librte-net-tap23 netsniff-ng";

    /// <summary>
    /// After <c>start</c>, before a measurement: testpmd forwards only a few seconds after it starts (checked on this
    /// kind of machine: about 3 s over net_af_packet); 4 s gives room.
    /// </summary>
    public static readonly TimeSpan StartDelay = TimeSpan.FromSeconds(4);

    /// <summary>How long a command's answer may take (it takes milliseconds; the EAL's start takes about a second).</summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private const string Prompt = "testpmd> ";

    private static readonly string[] PmdDirectories = ["/usr/lib/x86_64-linux-gnu/dpdk", "/usr/lib/aarch64-linux-gnu/dpdk"];
    private static int s_counter;

    /// <summary>Every testpmd started and not disposed: ended by <see cref="EndAllOnSignal"/> when the run is interrupted.</summary>
    private static readonly Lock s_liveLock = new();
    private static readonly HashSet<Testpmd> s_live = [];

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private readonly Thread _reader;
    private readonly string _prefix;
    private readonly int _ports;
    private bool _disposed;

    private Testpmd(Process process, string prefix, int ports)
    {
        _process = process;
        _prefix = prefix;
        _ports = ports;
        _reader = new Thread(Read) { IsBackground = true, Name = "testpmd output" };
        _reader.Start();
    }

    /// <summary>Where <c>dpdk-testpmd</c> is, or null.</summary>
    public static string? Path { get; } = new[] { "/usr/bin/dpdk-testpmd", "/usr/local/bin/dpdk-testpmd" }.FirstOrDefault(File.Exists);

    /// <summary>What is missing for testpmd over <paramref name="driver"/> (<c>afpacket</c>, <c>xdp</c>, <c>tap</c>), or null.</summary>
    public static string? Missing(string driver)
    {
        if (Path is null)
        {
            return "dpdk-testpmd is not installed";
        }

        if (!File.Exists("/usr/bin/stdbuf"))
        {
            return "coreutils' stdbuf is missing";
        }

        string library = driver switch
        {
            "afpacket" => "librte_net_af_packet.so",
            "xdp" => "librte_net_af_xdp.so",
            _ => "librte_net_tap.so",
        };
        bool present = PmdDirectories.Where(Directory.Exists)
            .Any(dir => Directory.EnumerateFiles(dir, library + "*", SearchOption.AllDirectories).Any());
        return present ? null : $"DPDK's {library} (Debian: librte-net-{(driver == "xdp" ? "af-xdp" : driver == "afpacket" ? "af-packet" : "tap")}23) is not installed";
    }

    /// <summary>Starts testpmd in <paramref name="ns"/> over <paramref name="vdevs"/>, sets its forwarding mode and starts forwarding.</summary>
    /// <param name="ns">The namespace the devices are in.</param>
    /// <param name="vdevs">The virtual devices, e.g. <c>net_af_packet0,iface=nbfwa1</c>.</param>
    /// <param name="forwardMode"><c>icmpecho</c>, <c>io</c> or <c>macswap</c>.</param>
    /// <returns>testpmd forwarding; wait <see cref="StartDelay"/> before measuring.</returns>
    public static Testpmd Start(BenchNamespace ns, string[] vdevs, string forwardMode)
    {
        string prefix = string.Create(CultureInfo.InvariantCulture, $"nbbench-{Environment.ProcessId}-tp{Interlocked.Increment(ref s_counter)}");
        var start = new ProcessStartInfo(Requirements.IpPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // One port replies on the port it received on (--port-topology=loop); two forward to each other (paired).
        string topology = vdevs.Length == 1 ? "loop" : "paired";
        string[] arguments =
        [
            "netns", "exec", ns.Name, "/usr/bin/stdbuf", "-o0", "-e0", Path!,
            "-l", "0-1", "--no-huge", "--no-pci", "-m", "1024", "--file-prefix", prefix, "--log-level", "lib.eal:error",
            .. vdevs.SelectMany(v => new[] { "--vdev", v }),
            "--", "-i", "--nb-cores=1", "--total-num-mbufs=8192", "--port-topology=" + topology, "--forward-mode=" + forwardMode,
        ];
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dpdk-testpmd did not start");
        var testpmd = new Testpmd(process, prefix, vdevs.Length);
        lock (s_liveLock)
        {
            _ = s_live.Add(testpmd);
        }

        try
        {
            process.ErrorDataReceived += (_, e) => testpmd.Append(e.Data is null ? "" : e.Data + "\n");
            process.BeginErrorReadLine();
            _ = testpmd.Command(null);
            _ = testpmd.Command("start");
            return testpmd;
        }
        catch
        {
            testpmd.Dispose();
            throw;
        }
    }

    /// <summary>Every port's counters now (<c>show port stats all</c>), summed over the ports.</summary>
    public TestpmdStats ReadStats()
    {
        string answer = Command("show port stats all");
        var stats = default(TestpmdStats);
        int blocks = 0;
        foreach (Match block in StatsBlock().Matches(answer))
        {
            blocks++;
            stats += new TestpmdStats(
                Number(block, "rxp"), Number(block, "missed"), Number(block, "rxerr"), Number(block, "nombuf"), Number(block, "txp"), Number(block, "txerr"));
        }

        return blocks == _ports ? stats : throw new InvalidOperationException($"testpmd's port statistics did not parse ({blocks} of {_ports} ports): {answer}");
    }

    /// <summary>Stops forwarding and quits (bounded: killed after 10 s), then removes its runtime files.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (s_liveLock)
        {
            _ = s_live.Remove(this);
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Write("stop\nquit\n");
                _process.StandardInput.Flush();
            }
        }
        catch (IOException)
        {
            // It ended already (a closed pipe): the kill below is a no-op then.
        }

        if (!_process.WaitForExit(10_000))
        {
            _process.Kill(entireProcessTree: true);
            _ = _process.WaitForExit(10_000);
        }

        _ = _reader.Join(TimeSpan.FromSeconds(5));
        _process.Dispose();
        string runtime = System.IO.Path.Combine("/var/run/dpdk", _prefix);
        if (Directory.Exists(runtime))
        {
            Directory.Delete(runtime, recursive: true);
        }
    }

    /// <summary>
    /// On SIGINT or SIGTERM (called by <see cref="BenchNamespace"/>'s handler before it removes the namespaces): kills every
    /// testpmd still running and removes its runtime files under <c>/var/run/dpdk</c>, which its own exit leaves behind
    /// (only <see cref="Dispose"/> removes them, and an interrupted run never gets there).
    /// </summary>
    internal static void EndAllOnSignal()
    {
        Testpmd[] live;
        lock (s_liveLock)
        {
            live = [.. s_live];
            s_live.Clear();
        }

        foreach (Testpmd testpmd in live)
        {
            try
            {
                if (!testpmd._process.HasExited)
                {
                    testpmd._process.Kill(entireProcessTree: true);
                }

                _ = testpmd._process.WaitForExit(5_000);
            }
            catch (InvalidOperationException)
            {
                // It ended already.
            }

            string runtime = System.IO.Path.Combine("/var/run/dpdk", testpmd._prefix);
            try
            {
                if (Directory.Exists(runtime))
                {
                    Directory.Delete(runtime, recursive: true);
                }
            }
            catch (IOException exception)
            {
                Console.Error.WriteLine($"removing {runtime}: {exception.Message}");
            }
        }
    }

    private static long Number(Match block, string group) => long.Parse(block.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"RX-packets:\s*(?<rxp>\d+)\s+RX-missed:\s*(?<missed>\d+).*?RX-errors:\s*(?<rxerr>\d+).*?RX-nombuf:\s*(?<nombuf>\d+).*?TX-packets:\s*(?<txp>\d+)\s+TX-errors:\s*(?<txerr>\d+)", RegexOptions.Singleline)]
    private static partial Regex StatsBlock();

    /// <summary>Sends <paramref name="command"/> (or nothing: waits for the first prompt) and returns its answer, up to the next prompt.</summary>
    private string Command(string? command)
    {
        int from;
        lock (_outputLock)
        {
            from = _output.Length;
        }

        if (command is not null)
        {
            _process.StandardInput.Write(command + "\n");
            _process.StandardInput.Flush();
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < CommandTimeout)
        {
            lock (_outputLock)
            {
                string text = _output.ToString(from, _output.Length - from);
                int prompt = text.IndexOf(Prompt, StringComparison.Ordinal);
                if (prompt >= 0)
                {
                    return text[..prompt];
                }
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"dpdk-testpmd exited ({_process.ExitCode}): {Tail()}");
            }

            Thread.Sleep(5);
        }

        throw new InvalidOperationException($"dpdk-testpmd did not answer {command ?? "(start)"} within {CommandTimeout.TotalSeconds} s: {Tail()}");
    }

    private string Tail()
    {
        lock (_outputLock)
        {
            int length = Math.Min(_output.Length, 600);
            return _output.ToString(_output.Length - length, length);
        }
    }

    private void Append(string text)
    {
        lock (_outputLock)
        {
            _ = _output.Append(text);
        }
    }

    /// <summary>Reads its output as it comes, in characters (the prompt ends no line).</summary>
    private void Read()
    {
        char[] buffer = new char[4096];
        try
        {
            int read;
            while ((read = _process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
            {
                Append(new string(buffer, 0, read));
            }
        }
        catch (ObjectDisposedException)
        {
            // The process was disposed: nothing more to read.
        }
    }
}

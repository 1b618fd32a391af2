using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// A network namespace the benchmark makes for itself (unique name <c>nbbench-PID-N</c>, IPv6 off so
/// no router solicitations or MLD frames mix with the measured traffic) and always removes. All
/// benchmark traffic stays inside it (and, for the kernel-echo row, a second one it makes).
/// </summary>
/// <remarks>
/// Every namespace alive is listed; on SIGINT (Ctrl-C) or SIGTERM the list is removed before the process ends, so an
/// interrupted run leaves nothing behind (its sockets and TAP devices go with the process; a testpmd still running is
/// killed first and its runtime files under <c>/var/run/dpdk</c> removed).
/// </remarks>
internal sealed class BenchNamespace : IDisposable
{
    private static readonly Lock s_liveLock = new();
    private static readonly HashSet<string> s_live = [];
    private static PosixSignalRegistration[]? s_signals;
    private static int s_counter;
    private bool _removed;

    private BenchNamespace(string name) => Name = name;

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>Makes a namespace; the caller disposes it.</summary>
    public static BenchNamespace Create()
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"nbbench-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}");
        WatchSignals();
        _ = Run(Requirements.IpPath!, "netns", "add", name);
        lock (s_liveLock)
        {
            _ = s_live.Add(name);
        }

        var ns = new BenchNamespace(name);
        try
        {
            _ = ns.Exec("sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>ip -n NAME</c> with <paramref name="arguments"/>.</summary>
    public string Ip(params string[] arguments) => Run(Requirements.IpPath!, ["-n", Name, .. arguments]);

    /// <summary>Runs a program inside the namespace.</summary>
    public string Exec(params string[] command) => Run(Requirements.IpPath!, ["netns", "exec", Name, .. command]);

    /// <summary>Makes a veth pair <paramref name="kernelEnd"/> (10.77.0.1/24, the kernel's) and <paramref name="driverEnd"/>, both up.</summary>
    public void AddVethPair(string kernelEnd, string driverEnd)
    {
        _ = Ip("link", "add", kernelEnd, "type", "veth", "peer", "name", driverEnd);
        _ = Ip("addr", "add", "10.77.0.1/24", "dev", kernelEnd);
        _ = Ip("link", "set", kernelEnd, "up");
        _ = Ip("link", "set", driverEnd, "up");
    }

    /// <summary>Removes the namespace and every device in it. Safe to call twice.</summary>
    public void Dispose()
    {
        if (_removed)
        {
            return;
        }

        _removed = true;
        Remove(Name);
    }

    /// <summary>Removes one namespace and takes it off the list; a failure is printed, not thrown (clean-up goes on).</summary>
    private static void Remove(string name)
    {
        lock (s_liveLock)
        {
            if (!s_live.Remove(name))
            {
                return;
            }
        }

        try
        {
            _ = Run(Requirements.IpPath!, "netns", "del", name);
        }
        catch (InvalidOperationException exception)
        {
            Console.Error.WriteLine($"removing namespace {name}: {exception.Message}");
        }
    }

    /// <summary>Once per process: on SIGINT or SIGTERM, removes every namespace still alive, then lets the signal end the process.</summary>
    private static void WatchSignals()
    {
        lock (s_liveLock)
        {
            s_signals ??=
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            ];
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        // testpmd first: it runs inside a namespace (which lives on while it does) and leaves its runtime files behind.
        Testpmd.EndAllOnSignal();
        string[] names;
        lock (s_liveLock)
        {
            names = [.. s_live];
        }

        if (names.Length > 0)
        {
            Console.Error.WriteLine($"{context.Signal}: removing the run's namespaces ({string.Join(", ", names)})");
        }

        foreach (string name in names)
        {
            Remove(name);
        }
    }

    /// <summary>Runs a program and waits for it (10 s at most: these tools answer in milliseconds).</summary>
    /// <exception cref="InvalidOperationException">It failed.</exception>
    public static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not finish in 10 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result.Trim()}");
        }

        return output;
    }
}

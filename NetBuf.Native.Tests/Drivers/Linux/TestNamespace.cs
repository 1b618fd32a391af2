using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// A network namespace made for one test (unique name <c>nb-PID-N</c>) with IPv6 off (no router
/// solicitations or MLD frames in the traffic a test checks), always removed by
/// <see cref="Dispose"/> (also when the test fails). Namespaces left by a process that died are
/// removed when the first one of a later run is made.
/// </summary>
internal sealed class TestNamespace : IDisposable
{
    /// <summary>The address the kernel answers on, inside the namespace.</summary>
    internal static readonly byte[] KernelIp = [10, 77, 0, 1];

    /// <summary>The address the test plays, on the same /24.</summary>
    internal static readonly byte[] TestIp = [10, 77, 0, 2];

    private const string Prefix = "nb-";
    private static int s_counter;
    private static int s_sweptStale;
    private bool _removed;

    private TestNamespace(string name) => Name = name;

    /// <summary>The namespace's name (for <c>ip -n</c> and the drivers' options).</summary>
    internal string Name { get; }

    /// <summary>Makes a namespace; the caller must dispose it.</summary>
    internal static TestNamespace Create()
    {
        LinuxTestEnvironment.RequireRootOnLinux("A driver test in a network namespace");
        if (Interlocked.Exchange(ref s_sweptStale, 1) == 0)
        {
            RemoveStale();
        }

        string name = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}");
        var ns = new TestNamespace(name);
        try
        {
            Ip("netns", "add", name);
            ns.Exec("sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>ip</c> with <paramref name="arguments"/> and returns its output.</summary>
    /// <exception cref="InvalidOperationException">It failed (the message has its error output).</exception>
    internal static string Ip(params string[] arguments) =>
        Run(LinuxTestEnvironment.IpPath ?? throw new InvalidOperationException("ip is not installed"), arguments);

    /// <summary>Runs <c>ip -n NAME</c> with <paramref name="arguments"/>.</summary>
    internal string IpIn(params string[] arguments) => Ip(["-n", Name, .. arguments]);

    /// <summary>Runs a program inside the namespace (<c>ip netns exec</c>).</summary>
    internal string Exec(params string[] command) => Ip(["netns", "exec", Name, .. command]);

    /// <summary>Makes a veth pair inside the namespace, both ends up.</summary>
    internal void AddVethPair(string a, string b)
    {
        IpIn("link", "add", a, "type", "veth", "peer", "name", b);
        IpIn("link", "set", a, "up");
        IpIn("link", "set", b, "up");
    }

    /// <summary>Gives <paramref name="device"/> the kernel's address (10.77.0.1/24) and sets it up.</summary>
    internal void AssignKernelAddress(string device)
    {
        IpIn("addr", "add", "10.77.0.1/24", "dev", device);
        IpIn("link", "set", device, "up");
    }

    /// <summary>Whether <paramref name="device"/> exists in the namespace.</summary>
    internal bool HasDevice(string device)
    {
        try
        {
            IpIn("link", "show", device);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The hardware address of <paramref name="device"/> as ip shows it (aa:bb:...).</summary>
    internal string MacOf(string device)
    {
        string output = IpIn("-br", "link", "show", device);
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
    }

    /// <summary>Removes the namespace (and every device in it). Safe to call twice.</summary>
    public void Dispose()
    {
        if (_removed)
        {
            return;
        }

        _removed = true;
        try
        {
            Ip("netns", "del", Name);
        }
        catch (InvalidOperationException exception)
        {
            TestContext.Out.WriteLine($"removing {Name}: {exception.Message}");
        }
    }

    private static void RemoveStale()
    {
        if (!Directory.Exists("/run/netns"))
        {
            return;
        }

        foreach (string path in Directory.GetFiles("/run/netns", Prefix + "*"))
        {
            string[] parts = Path.GetFileName(path).Split('-');
            if (parts.Length == 3 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Ip("netns", "del", Path.GetFileName(path));
                }
                catch (InvalidOperationException)
                {
                    // Another run removed it first.
                }
            }
        }
    }

    private static string Run(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();

        // 10 s: ip answers in milliseconds; the bound only keeps a stuck tool from hanging the run.
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

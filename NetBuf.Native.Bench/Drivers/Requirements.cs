namespace NetBufNative.Bench.Drivers;

/// <summary>What the driver modes need (root on Linux, iproute2, /dev/net/tun; libpcap for the SharpPcap row), said plainly when it is missing.</summary>
internal static class Requirements
{
    private static readonly string[] LibraryDirectories = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/lib/x86_64-linux-gnu"];

    /// <summary>Where iproute2's <c>ip</c> is, or null.</summary>
    public static string? IpPath { get; } = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    /// <summary>What is missing for the driver modes, or null when they can run.</summary>
    public static string? Missing() =>
        !OperatingSystem.IsLinux() ? "this is not Linux"
        : !Environment.Is64BitProcess ? "this is not a 64-bit process"
        : !Environment.IsPrivilegedProcess ? "the process is not root (it makes network namespaces, TAP devices and raw sockets: CAP_NET_ADMIN and CAP_NET_RAW); run it with sudo"
        : IpPath is null ? "iproute2's ip is not installed (Debian: apt-get install -y iproute2)"
        : !File.Exists("/dev/net/tun") ? "/dev/net/tun is missing (a kernel without CONFIG_TUN, or a container without the device)"
        : null;

    /// <summary>Prints why a driver mode cannot run; returns the exit code.</summary>
    public static int Refuse(string mode, string missing)
    {
        Console.Error.WriteLine($"The {mode} mode needs root on Linux with iproute2 and /dev/net/tun: {missing}.");
        Console.Error.WriteLine(mode == "drivers"
            ? "Debian packages: iproute2 (ip), and libpcap0.8 for the SharpPcap row: apt-get install -y iproute2 libpcap0.8"
            : "Debian packages: iproute2 (ip) only: apt-get install -y iproute2");
        Console.Error.WriteLine($"Run: sudo dotnet run -c Release --project NetBuf.Native.Bench -- {mode} ...");
        return 2;
    }

    /// <summary>Whether libpcap is there for SharpPcap; as root with apt-get, installs Debian's libpcap0.8 when it is not.</summary>
    public static string? EnsureLibpcap()
    {
        static bool Present() => LibraryDirectories
            .Any(dir => File.Exists(Path.Combine(dir, "libpcap.so.0.8")) || File.Exists(Path.Combine(dir, "libpcap.so")));
        if (Present())
        {
            return null;
        }

        if (Environment.IsPrivilegedProcess && File.Exists("/usr/bin/apt-get"))
        {
            Console.WriteLine("// libpcap is missing: apt-get install -y libpcap0.8");
            try
            {
                _ = BenchNamespace.Run("/usr/bin/apt-get", "install", "-y", "-qq", "libpcap0.8");
            }
            catch (InvalidOperationException exception)
            {
                return $"apt-get install libpcap0.8 failed ({exception.Message}); run apt-get update, then it again";
            }
        }

        return Present() ? null : "libpcap is not installed (Debian: apt-get install -y libpcap0.8)";
    }
}

using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The CI policy for tests that need Linux and root: where they are missing, the test is skipped
/// with the reason; but when the environment variable <c>CI</c> is set and the process is root on
/// Linux, a skip would hide that the drivers did not run, so it is a failure instead.
/// </summary>
internal static class LinuxTestEnvironment
{
    /// <summary>What a test does when its requirement is missing.</summary>
    internal enum Verdict
    {
        Run,
        Skip,
        Fail,
    }

    /// <summary>Where iproute2's <c>ip</c> is, or null.</summary>
    internal static string? IpPath { get; } = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    /// <summary>Whether <c>CI</c> is set (to anything but empty).</summary>
    internal static bool IsCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Skips (or, under CI as root on Linux, fails) the test unless it runs as root on Linux with <c>ip</c> and <c>/dev/net/tun</c>.</summary>
    /// <param name="what">What needs it, for the message.</param>
    internal static void RequireRootOnLinux(string what)
    {
        bool linux = OperatingSystem.IsLinux();
        bool root = Environment.IsPrivilegedProcess;
        string? missing = !linux ? "this is not Linux"
            : !root ? "the process is not root (it needs CAP_NET_ADMIN and CAP_NET_RAW, and ip netns)"
            : IpPath is null ? "iproute2's ip is not installed (apt-get install -y iproute2)"
            : !File.Exists("/dev/net/tun") ? "/dev/net/tun is missing (a kernel without CONFIG_TUN, or a container without the device)"
            : null;
        switch (Decide(linux, root, IsCi, missing))
        {
            case Verdict.Skip:
                Assert.Ignore($"{what} needs root on Linux: {missing}.");
                break;
            case Verdict.Fail:
                Assert.Fail($"{what} could not run: {missing}. CI is set and the process is root on Linux, so this is a failure, not a skip.");
                break;
            default:
                break;
        }
    }

    /// <summary>The policy as a function, so a test can check every case.</summary>
    internal static Verdict Decide(bool linux, bool root, bool ci, string? missing) =>
        missing is null ? Verdict.Run
        : ci && linux && root ? Verdict.Fail
        : Verdict.Skip;
}

using System.Globalization;

namespace NetBufNative.Tests.Processing;

/// <summary>
/// The CPU time of one thread of this process, read from <c>/proc/self/task/TID/stat</c> (Linux): lets a test bound what
/// an idle loop's own thread burns, apart from the runtime's other threads (JIT, GC, the test runner).
/// </summary>
internal sealed class ThreadCpuTime
{
    private readonly string _statPath;

    private ThreadCpuTime(int threadId) => _statPath = $"/proc/self/task/{threadId}/stat";

    /// <summary>Whether the kernel offers per-thread statistics here.</summary>
    internal static bool IsSupported => OperatingSystem.IsLinux() && Directory.Exists("/proc/thread-self");

    /// <summary>For the calling thread (call it on the thread to measure).</summary>
    internal static ThreadCpuTime OfCurrentThread()
    {
        // /proc/thread-self links to "PID/task/TID".
        string target = new DirectoryInfo("/proc/thread-self").LinkTarget ?? throw new InvalidOperationException("/proc/thread-self is not a link");
        return new ThreadCpuTime(int.Parse(Path.GetFileName(target), CultureInfo.InvariantCulture));
    }

    /// <summary>User plus system time so far, at the kernel's clock-tick resolution (10 ms at the usual 100 Hz).</summary>
    internal TimeSpan Read()
    {
        string stat = File.ReadAllText(_statPath);

        // Fields after the command name (which may hold spaces, so split after its closing parenthesis): state is
        // field 3; utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }
}

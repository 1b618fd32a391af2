using System.Runtime.InteropServices;
using Perfolizer.Horology;

namespace NetBufNative.Bench;

/// <summary>
/// BenchmarkDotNet's clock replaced by the CPU time of this process (all its threads), in
/// nanoseconds: on a VM shared with other work, the time a benchmark's threads wait for a core is
/// not counted, so the ratios within a run stop depending on how loaded the machine was while each
/// row ran. One thread: the time per pair is that thread's CPU time (the in-process engine's
/// other threads sleep). Several threads: it is the summed CPU time per pair over all threads.
/// </summary>
internal sealed partial class CpuTimeClock : IClock
{
    private const int ClockProcessCpuTimeId = 2; // CLOCK_PROCESS_CPUTIME_ID

    public static readonly CpuTimeClock Instance = new();

    public string Title => "process CPU time";

    public bool IsAvailable => OperatingSystem.IsLinux() && Read(out _);

    public Frequency Frequency { get; } = new(1_000_000_000);

    public long GetTimestamp()
    {
        if (!Read(out long nanoseconds))
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed.");
        }

        return nanoseconds;
    }

    private static bool Read(out long nanoseconds)
    {
        if (ClockGetTime(ClockProcessCpuTimeId, out TimeSpec time) != 0)
        {
            nanoseconds = 0;
            return false;
        }

        nanoseconds = (time.Seconds * 1_000_000_000) + time.Nanoseconds;
        return true;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

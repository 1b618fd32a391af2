using System.Runtime.InteropServices;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;

namespace NetBufNative.Processing;

/// <summary>Pins the calling thread to one CPU (Linux: <c>sched_setaffinity</c>), for a loop that owns a core.</summary>
internal static unsafe class ThreadAffinity
{
    /// <summary>CPUs a mask covers: 1024, glibc's <c>CPU_SETSIZE</c> (a 128-byte <c>cpu_set_t</c>).</summary>
    private const int MaskCpus = 1024;

    /// <summary>Runs the calling thread on <paramref name="cpu"/> only.</summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cpu"/> is beyond the mask.</exception>
    /// <exception cref="NetDriverException">The kernel refused (EINVAL: the CPU is not among those the process may use).</exception>
    internal static void PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Pinning a loop to a CPU is implemented on Linux only; leave PacketLoopOptions.Cpu unset elsewhere.");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)cpu, (uint)MaskCpus, nameof(cpu));
        ulong* mask = stackalloc ulong[MaskCpus / 64];
        new Span<ulong>(mask, MaskCpus / 64).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);

        // Sound: the mask is a local of the size passed; pid 0 is the calling thread.
        if (LibC.SchedSetAffinity(0, MaskCpus / 8, mask) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"sched_setaffinity failed for CPU {cpu}: {Errno.Name(errno)}: the CPU is not one this process may run on (see taskset -p {Environment.ProcessId}); pick another or leave PacketLoopOptions.Cpu unset.",
                errno);
        }
    }
}

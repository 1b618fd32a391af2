using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// Whether <see cref="Interlocked.MemoryBarrierProcessWide"/> is a real barrier on every core here,
/// which the thread caches' asymmetric handshake relies on (see <see cref="ThreadCache"/>).
/// </summary>
/// <remarks>
/// <para>
/// The runtime implements it with <c>FlushProcessWriteBuffers</c>: on Windows a documented barrier;
/// on Linux <c>membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)</c> when the kernel offers it, else a
/// trick that changes the protection of a page so the kernel interrupts every core to flush its
/// TLB. On x86/x64 that interrupt serializes each core, so the trick is a barrier; on ARM64 the TLB
/// invalidation is broadcast by hardware without interrupting anyone, so it is not. The only case
/// that is not known to be a barrier is therefore Linux (or another Unix) on a non-x86 CPU without
/// the expedited membarrier; there the handshake falls back to a symmetric fence: the owner pays a
/// full fence between its two accesses (<see cref="OwnerMustFence"/>).
/// </para>
/// <para>
/// On Linux the check asks the kernel (<c>MEMBARRIER_CMD_QUERY</c>) and registers the process for
/// the expedited command, as the runtime does at start-up; registering twice is harmless.
/// </para>
/// </remarks>
internal static partial class ProcessWideBarrier
{
    /// <summary><c>MEMBARRIER_CMD_QUERY</c>: returns the supported commands as a bit mask.</summary>
    private const int MembarrierCommandQuery = 0;

    /// <summary><c>MEMBARRIER_CMD_PRIVATE_EXPEDITED</c> (linux/membarrier.h).</summary>
    private const int MembarrierCommandPrivateExpedited = 1 << 3;

    /// <summary><c>MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED</c> (linux/membarrier.h).</summary>
    private const int MembarrierCommandRegisterPrivateExpedited = 1 << 4;

    /// <summary>The check's result, made once. Declared before <see cref="OwnerMustFence"/>, so its
    /// initializer runs first (an initializer that set a property declared later was undone by that
    /// property's own initializer, leaving the description empty).</summary>
    private static (bool Reliable, string Description) Decision { get; } = Decide();

    /// <summary>
    /// Whether the owner of a thread cache must fence between writing its active flag and reading
    /// the frozen flag, because the thief's process-wide barrier cannot be trusted here.
    /// Decided once per process; each thread cache copies it (tests can force the fallback per pool).
    /// </summary>
    public static readonly bool OwnerMustFence = !Decision.Reliable;

    /// <summary>How the check decided, for diagnostics and tests.</summary>
    public static string Description => Decision.Description;

    /// <summary>Whether the platform's process-wide barrier is a real barrier on every core (asks again).</summary>
    internal static bool IsProcessWideBarrierReliable() => Decide().Reliable;

    private static (bool Reliable, string Description) Decide()
    {
        if (OperatingSystem.IsWindows())
        {
            return (true, "Windows: FlushProcessWriteBuffers is a documented barrier");
        }

        if (OperatingSystem.IsLinux())
        {
            int supported = QueryMembarrier();
            if ((supported & MembarrierCommandPrivateExpedited) != 0 &&
                Membarrier(MembarrierCommandRegisterPrivateExpedited) == 0)
            {
                return (true, "Linux: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) is available");
            }
        }

        bool x86 = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
        return (x86, x86
            ? "x86: the runtime's page-protection barrier interrupts every core"
            : "no expedited membarrier on a non-x86 CPU: owners fence symmetrically");
    }

    /// <summary>The kernel's membarrier commands as a bit mask, or 0 when the call fails.</summary>
    internal static int QueryMembarrier()
    {
        int result = Membarrier(MembarrierCommandQuery);
        return result < 0 ? 0 : result;
    }

    private static int Membarrier(int command)
    {
        long number = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 324, // __NR_membarrier, arch/x86/entry/syscalls/syscall_64.tbl
            Architecture.Arm64 => 283, // __NR_membarrier, include/uapi/asm-generic/unistd.h
            _ => -1,
        };

        if (number < 0)
        {
            return -1;
        }

        try
        {
            // Sound: membarrier takes (int cmd, unsigned flags, int cpu_id) by value and touches no
            // memory of ours; syscall(2) passes integer arguments in registers on both ABIs.
            return (int)Syscall(number, command, 0, 0);
        }
        catch (DllNotFoundException)
        {
            return -1;
        }
        catch (EntryPointNotFoundException)
        {
            return -1;
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall(long number, long argument1, long argument2, long argument3);
}

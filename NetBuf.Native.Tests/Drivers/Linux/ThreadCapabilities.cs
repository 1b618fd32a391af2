using System.Runtime.InteropServices;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The calling thread's effective capabilities (<c>capget</c>, <c>capset</c>). Capabilities are per
/// thread, and a thread starts with those of the thread that started it: a test drops some on a
/// thread of its own, whose system calls (and those of the threads it starts) then meet the kernel's
/// EPERM as an unprivileged process's would, while the test process keeps its own.
/// </summary>
internal static partial class ThreadCapabilities
{
    /// <summary><c>CAP_NET_ADMIN</c>.</summary>
    internal const int NetAdmin = 12;

    /// <summary><c>CAP_NET_RAW</c>.</summary>
    internal const int NetRaw = 13;

    /// <summary><c>CAP_IPC_LOCK</c>.</summary>
    internal const int IpcLock = 14;

    /// <summary><c>CAP_SYS_ADMIN</c>.</summary>
    internal const int SysAdmin = 21;

    /// <summary><c>_LINUX_CAPABILITY_VERSION_3</c>: two 32-bit words per set.</summary>
    private const uint CapabilityVersion3 = 0x20080522;

    /// <summary>Keeps only <paramref name="kept"/> in the calling thread's effective set; the permitted set stays.</summary>
    /// <returns>Whether capset took it.</returns>
    internal static bool KeepOnly(params int[] kept)
    {
        ulong mask = 0;
        foreach (int capability in kept)
        {
            mask |= 1UL << capability;
        }

        var header = new CapHeader { Version = CapabilityVersion3, Pid = 0 };
        var data = new CapData[2];
        if (CapGet(ref header, data) != 0)
        {
            return false;
        }

        data[0].Effective &= (uint)mask;
        data[1].Effective &= (uint)(mask >> 32);
        return CapSet(ref header, data) == 0;
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own that keeps only <paramref name="kept"/> of its effective capabilities.</summary>
    /// <returns>What <paramref name="action"/> threw, or null; an <see cref="InvalidOperationException"/> when the capabilities could not be dropped.</returns>
    internal static Exception? RunKeepingOnly(int[] kept, Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            if (!KeepOnly(kept))
            {
                failure = new InvalidOperationException($"capset failed: errno {Marshal.GetLastPInvokeError()}");
                return;
            }

            try
            {
                action();
            }
#pragma warning disable CA1031 // Reported to the test thread, which checks it.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                failure = exception;
            }
        })
        {
            IsBackground = true,
            Name = "fewer capabilities",
        };
        thread.Start();
        thread.Join();
        return failure;
    }

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static partial int CapGet(ref CapHeader header, [Out] CapData[] data);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static partial int CapSet(ref CapHeader header, [In] CapData[] data);

    /// <summary><c>struct __user_cap_header_struct</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    /// <summary><c>struct __user_cap_data_struct</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }
}

using System.Runtime.InteropServices;
using System.Text;
using NetBufNative.Drivers.Linux.Xdp;
using static NetBufNative.Drivers.Linux.Bpf.BpfConstants;

namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>
/// The four <c>bpf()</c> commands the XDP driver needs, through the raw system call (no libbpf):
/// create an XSKMAP, put a socket in it, load an XDP program (with the verifier's log on failure),
/// attach it to an interface through a BPF link.
/// </summary>
/// <remarks>Thread-safe (each call is one system call on its own arguments).</remarks>
internal static unsafe class BpfCommands
{
    /// <summary>The verifier's log buffer for a rejected program: 64 KiB holds the log of a program of this size many times over.</summary>
    private const int LogSize = 64 * 1024;

    /// <summary>The program's license: GPL-compatible (as the kernel requires of programs calling GPL-only helpers) and the project's own.</summary>
    private static ReadOnlySpan<byte> License => "Dual MIT/GPL\0"u8;

    /// <summary>Creates an XSKMAP of <paramref name="entries"/> queue slots.</summary>
    /// <exception cref="NetDriverException">The kernel refused.</exception>
    internal static int CreateXskMap(uint entries, string device)
    {
        BpfAttr attr = default;
        attr.MapType = BPF_MAP_TYPE_XSKMAP;
        attr.KeySize = sizeof(uint);
        attr.ValueSize = sizeof(uint);
        attr.MaxEntries = entries;
        return (int)Call(BPF_MAP_CREATE, ref attr, "bpf(BPF_MAP_CREATE, XSKMAP)", device);
    }

    /// <summary>Sets entry <paramref name="queue"/> of the XSKMAP to the socket <paramref name="socketFd"/>.</summary>
    /// <exception cref="NetDriverException">The kernel refused.</exception>
    internal static void SetXskMapEntry(int mapFd, uint queue, int socketFd, string device)
    {
        uint key = queue;
        uint value = (uint)socketFd;
        BpfAttr attr = default;
        attr.MapFd = (uint)mapFd;

        // Sound: the key and value are locals, read by the kernel during the call only.
        attr.Key = (ulong)&key;
        attr.Value = (ulong)&value;
        _ = Call(BPF_MAP_UPDATE_ELEM, ref attr, "bpf(BPF_MAP_UPDATE_ELEM, XSKMAP)", device);
    }

    /// <summary>Loads an XDP program.</summary>
    /// <param name="program">The instructions.</param>
    /// <param name="name">Its name as <c>bpftool prog</c> shows it (up to 15 ASCII characters).</param>
    /// <param name="device">The device, for messages.</param>
    /// <returns>The program's descriptor.</returns>
    /// <exception cref="NetDriverException">The verifier rejected it (InvalidParam, the message holds the verifier's log), or the kernel refused otherwise.</exception>
    internal static int LoadXdpProgram(ReadOnlySpan<BpfInstruction> program, string name, string device)
    {
        byte* log = (byte*)NativeMemory.AllocZeroed(LogSize);
        try
        {
            fixed (BpfInstruction* instructions = program)
            fixed (byte* license = License)
            {
                BpfAttr attr = default;
                attr.ProgramType = BPF_PROG_TYPE_XDP;
                attr.InstructionCount = (uint)program.Length;

                // Sound: the instructions, license and log are pinned or native for the whole call;
                // the kernel writes at most LogSize bytes into the log.
                attr.Instructions = (ulong)instructions;
                attr.License = (ulong)license;
                attr.LogLevel = 1;
                attr.LogSize = LogSize;
                attr.LogBuffer = (ulong)log;
                attr.ExpectedAttachType = BPF_XDP;
                int length = Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), new Span<byte>(attr.ProgramName, 15));
                attr.ProgramName[length] = 0;
                long fd = Syscall(BPF_PROG_LOAD, ref attr);
                if (fd >= 0)
                {
                    return (int)fd;
                }

                int errno = Marshal.GetLastPInvokeError();
                string text = Marshal.PtrToStringUTF8((nint)log)?.Trim() ?? string.Empty;
                if (errno is Errno.EPERM || text.Length == 0)
                {
                    throw Error(errno, $"bpf(BPF_PROG_LOAD, XDP program {name})", device);
                }

                throw new NetDriverException(
                    NetDriverErrorKind.InvalidParam,
                    $"The kernel's verifier rejected the XDP program {name} ({program.Length} instructions) for {device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}). The verifier's log:{Environment.NewLine}{text}",
                    errno);
            }
        }
        finally
        {
            NativeMemory.Free(log);
        }
    }

    /// <summary>Attaches the program to interface <paramref name="interfaceIndex"/> of the calling thread's namespace through a BPF link (closing the link's descriptor detaches it).</summary>
    /// <exception cref="NetDriverException">The kernel refused (the interface has an XDP program already: ResourceBusy; the mode is not supported: Unsupported).</exception>
    internal static int CreateXdpLink(int programFd, int interfaceIndex, uint flags, string device)
    {
        BpfAttr attr = default;
        attr.LinkProgramFd = (uint)programFd;
        attr.LinkTargetInterface = (uint)interfaceIndex;
        attr.LinkAttachType = BPF_XDP;
        attr.LinkFlags = flags;
        string mode = flags == XdpConstants.XDP_FLAGS_DRV_MODE ? "native" : flags == XdpConstants.XDP_FLAGS_SKB_MODE ? "generic (SKB)" : "default";
        return (int)Call(BPF_LINK_CREATE, ref attr, $"bpf(BPF_LINK_CREATE, XDP, {mode} mode)", device);
    }

    private static long Call(int command, ref BpfAttr attr, string call, string device)
    {
        long result = Syscall(command, ref attr);
        return result >= 0 ? result : throw Error(Marshal.GetLastPInvokeError(), call, device);
    }

    private static long Syscall(int command, ref BpfAttr attr)
    {
        fixed (BpfAttr* pointer = &attr)
        {
            // Sound: the attribute is the caller's local, BpfAttr.Size bytes, for the duration of the call;
            // any pointers in it are the caller's, alive as long.
            return LibC.Syscall(SyscallNumber, command, pointer, BpfAttr.Size);
        }
    }

    private static NetDriverException Error(int errno, string call, string device) => errno switch
    {
        Errno.EPERM or Errno.EACCES => LinuxError.Privilege(errno, call, device, LinuxError.XdpPrivilegeAdvice),
        Errno.EBUSY or Errno.EEXIST => new NetDriverException(
            NetDriverErrorKind.ResourceBusy,
            $"{call} failed for {device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}); the interface has an XDP program attached already (ip link show dev {device}): dispose the driver that attached it, or detach it (ip link set dev {device} xdp off).",
            errno),
        Errno.EOPNOTSUPP => new NetDriverException(
            NetDriverErrorKind.Unsupported,
            $"{call} failed for {device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}); the interface's driver does not support this XDP attach mode: use XdpAttachMode.Generic.",
            errno),
        _ => LinuxError.FromErrno(errno, call, device, opened: false),
    };
}

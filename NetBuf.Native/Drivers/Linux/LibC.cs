using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The libc calls the Linux drivers make, as source-generated P/Invoke (no native library of
/// ours). Every import sets the last error, read with <see cref="Marshal.GetLastPInvokeError"/>
/// right after a call that returned -1. Structures are passed by pointer: the callers hold them
/// on the stack or in native memory, so nothing needs pinning.
/// </summary>
/// <remarks>
/// <c>open</c> and <c>ioctl</c> are variadic in C; they are declared with their one extra argument
/// fixed, which is the calling convention of a variadic call with that argument on the 64-bit
/// Linux ABIs this library supports (x86-64, AArch64).
/// </remarks>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "readv", SetLastError = true)]
    internal static partial nint ReadV(int fd, IoVec* vectors, int count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int IoCtl(int fd, nuint request, void* argument);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    /// <summary><c>epoll_ctl</c>; <paramref name="epollEvent"/> points to a <c>struct epoll_event</c> laid out by <see cref="EpollEvent"/>.</summary>
    [LibraryImport(Library, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollCtl(int epollFd, int operation, int fd, void* epollEvent);

    /// <summary><c>epoll_wait</c>; <paramref name="events"/> holds <paramref name="maxEvents"/> entries of <see cref="EpollEvent.Size"/> bytes.</summary>
    [LibraryImport(Library, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epollFd, void* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, void* address, uint addressLength);

    [LibraryImport(Library, EntryPoint = "sched_setaffinity", SetLastError = true)]
    internal static partial int SchedSetAffinity(int pid, nuint maskSize, ulong* mask);

    [LibraryImport(Library, EntryPoint = "getsockname", SetLastError = true)]
    internal static partial int GetSockName(int fd, void* address, uint* addressLength);

    [LibraryImport(Library, EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);

    [LibraryImport(Library, EntryPoint = "sendmsg", SetLastError = true)]
    internal static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Library, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Library, EntryPoint = "recvmmsg", SetLastError = true)]
    internal static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport(Library, EntryPoint = "sendmmsg", SetLastError = true)]
    internal static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Library, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport(Library, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint IfNameToIndex(string name);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(Library, EntryPoint = "setns", SetLastError = true)]
    internal static partial int SetNs(int fd, int namespaceType);

    [LibraryImport(Library, EntryPoint = "recvfrom", SetLastError = true)]
    internal static partial nint RecvFrom(int fd, void* buffer, nuint length, int flags, void* address, uint* addressLength);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    internal static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(void* address, nuint length);

    /// <summary>
    /// <c>syscall(number, command, attr, size)</c>: the raw system call, for <c>bpf()</c>, which glibc
    /// does not wrap. Variadic in C; declared with its three arguments fixed (see the remarks above).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long command, void* attr, ulong size);
}

using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// Runs set-up code inside a named network namespace (one made by <c>ip netns add NAME</c>, so
/// bound at <c>/run/netns/NAME</c>) without moving the calling thread: a dedicated thread joins the
/// namespace with <c>setns</c> and runs the code, and ends. Sockets and devices keep the namespace
/// they were created in, so the descriptors it returns work from any thread afterwards.
/// </summary>
internal static class NamespaceThread
{
    /// <summary>Where <c>ip netns</c> binds named namespaces.</summary>
    internal const string Directory = "/run/netns/";

    [ThreadStatic]
    private static string? t_current;

    /// <summary>
    /// The named network namespace the calling thread runs in, when it is a thread of
    /// <see cref="Run{T}"/> that joined one; <see langword="null"/> on any other thread. Error
    /// messages name it (where to look for a missing interface).
    /// </summary>
    internal static string? Current => t_current;

    /// <summary>Runs <paramref name="action"/> in the namespace <paramref name="name"/>, or on this thread when it is null.</summary>
    /// <exception cref="NetDriverException">The namespace does not exist (InvalidParam), joining it is not permitted (Unsupported: it needs CAP_SYS_ADMIN), or <paramref name="action"/> threw it.</exception>
    internal static T Run<T>(string? name, Func<T> action)
    {
        if (name is null)
        {
            return action();
        }

        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new NetDriverException(NetDriverErrorKind.InvalidParam, $"'{name}' is not a network namespace name (a name made by ip netns add, without '/').");
        }

        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
                t_current = name;
                result = action();
            }
#pragma warning disable CA1031 // Not swallowed: captured and rethrown on the calling thread below.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                failure = ExceptionDispatchInfo.Capture(exception);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + name,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Moves the current thread into the namespace.</summary>
    private static void Enter(string name)
    {
        string path = Directory + name;
        int fd = LibC.Open(path, LinuxConstants.O_RDONLY | LinuxConstants.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.ENOENT)
            {
                throw new NetDriverException(
                    NetDriverErrorKind.InvalidParam,
                    $"open({path}) failed: ENOENT ({Marshal.GetPInvokeErrorMessage(errno)}); the network namespace '{name}' does not exist: create it with ip netns add {name}, or list them with ip netns list.",
                    errno);
            }

            throw errno is Errno.EPERM or Errno.EACCES
                ? LinuxError.Privilege(errno, "open", path, LinuxError.NamespacePrivilegeAdvice(name))
                : LinuxError.FromErrno(errno, "open", path);
        }

        try
        {
            if (LibC.SetNs(fd, LinuxConstants.CLONE_NEWNET) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw errno is Errno.EPERM or Errno.EACCES
                    ? LinuxError.Privilege(errno, "setns(CLONE_NEWNET)", path, LinuxError.NamespacePrivilegeAdvice(name))
                    : LinuxError.FromErrno(errno, "setns(CLONE_NEWNET)", path);
            }
        }
        finally
        {
            _ = LibC.Close(fd);
        }
    }
}

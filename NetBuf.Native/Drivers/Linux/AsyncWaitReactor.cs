using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The one process-wide thread that sleeps in <c>epoll_wait</c> over the descriptors of every pending asynchronous wait
/// (<see cref="AsyncReceiveWaiter"/>), as .NET's own <c>SocketAsyncEngine</c> does for sockets: an async wait parks no
/// thread of its own, and a thousand pending waits cost one sleeping thread.
/// </summary>
/// <remarks>
/// <para>
/// A wait registers each of its descriptors for one round (<c>EPOLLONESHOT</c>, level-triggered, so readiness that came
/// before the registration is reported at once) with a key of its slot in this reactor's table and a sequence number
/// of the round; the round's end removes them (<c>EPOLL_CTL_DEL</c>) before the wait lets go of the drivers' use counts,
/// so a descriptor is never closed (and its number reused) while registered here. An event whose key is no longer its
/// waiter's current one (the round ended meanwhile) is ignored.
/// </para>
/// <para>
/// The thread runs no driver code and no continuation: it marks the waiter ready, and the waiter ends its round
/// (<c>epoll_ctl</c> calls, the use counts) and completes its <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>,
/// whose continuation runs on the thread pool. An event with <c>EPOLLERR</c> or <c>EPOLLHUP</c> (a device that may be
/// gone) is handed to the thread pool instead, where the waiter asks the driver (<see cref="NetDriver.CheckDevice"/>).
/// </para>
/// <para>Thread safety: every member may be called from any thread.</para>
/// </remarks>
internal sealed unsafe class AsyncWaitReactor
{
    /// <summary>Events taken per <c>epoll_wait</c>: 64, a burst of ready waits handled per wake-up (more just take another call).</summary>
    private const int EventsPerWait = 64;

    private static readonly object s_createLock = new();
    private static AsyncWaitReactor? s_shared;

    private readonly int _epoll;
    private readonly object _slotLock = new();
    private AsyncReceiveWaiter?[] _slots = new AsyncReceiveWaiter?[16];
    private int[] _free = new int[16];
    private int _freeCount;
    private int _used;
    private uint _sequence;

    private AsyncWaitReactor(int epoll)
    {
        _epoll = epoll;
        var thread = new Thread(Run)
        {
            IsBackground = true,
            Name = "NetBuf async waits",
        };
        thread.UnsafeStart();
    }

    /// <summary>The reactor, made (with its thread) at the first async wait that has a descriptor.</summary>
    /// <exception cref="NetDriverException"><c>epoll_create1</c> failed (NoMemory or Io, with the errno).</exception>
    internal static AsyncWaitReactor Shared
    {
        get
        {
            AsyncWaitReactor? reactor = Volatile.Read(ref s_shared);
            if (reactor is not null)
            {
                return reactor;
            }

            lock (s_createLock)
            {
                if (s_shared is null)
                {
                    int epoll = LibC.EpollCreate1(LinuxConstants.EPOLL_CLOEXEC);
                    if (epoll < 0)
                    {
                        throw LinuxError.Last("epoll_create1", "the async wait reactor");
                    }

                    Volatile.Write(ref s_shared, new AsyncWaitReactor(epoll));
                }

                return s_shared!;
            }
        }
    }

    /// <summary>Takes a slot for <paramref name="waiter"/>'s round and returns the round's key (never 0).</summary>
    internal ulong Enlist(AsyncReceiveWaiter waiter)
    {
        lock (_slotLock)
        {
            int slot;
            if (_freeCount > 0)
            {
                slot = _free[--_freeCount];
            }
            else
            {
                if (_used == _slots.Length)
                {
                    // Grown under the lock and published whole: the reactor thread reads either array, and a stale
                    // entry in the old one is filtered by the waiter's key.
                    AsyncReceiveWaiter?[] grown = new AsyncReceiveWaiter?[_slots.Length * 2];
                    Array.Copy(_slots, grown, _slots.Length);
                    Volatile.Write(ref _slots, grown);
                    Array.Resize(ref _free, grown.Length);
                }

                slot = _used++;
            }

            _slots[slot] = waiter;
            uint sequence = ++_sequence;
            return ((ulong)(uint)(slot + 1) << 32) | sequence;
        }
    }

    /// <summary>Frees the slot of the round <paramref name="key"/> (after its descriptors were removed).</summary>
    internal void Discharge(ulong key)
    {
        int slot = (int)(key >> 32) - 1;
        lock (_slotLock)
        {
            _slots[slot] = null;
            _free[_freeCount++] = slot;
        }
    }

    /// <summary>Registers <paramref name="fd"/> for one event of <paramref name="events"/> (and errors) under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidOperationException">The descriptor is in another pending async wait (EEXIST): a driver in two waits at once.</exception>
    /// <exception cref="NetDriverException"><c>epoll_ctl</c> failed (e.g. ENOSPC: <c>max_user_watches</c> reached).</exception>
    internal void Add(int fd, uint events, ulong key, string owner)
    {
        byte* entry = stackalloc byte[16];
        EpollEvent.Write(entry, events | LinuxConstants.EPOLLONESHOT, key);

        // Sound: the entry is on this stack frame for the call; the kernel copies it.
        if (LibC.EpollCtl(_epoll, LinuxConstants.EPOLL_CTL_ADD, fd, entry) == 0)
        {
            return;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.EEXIST)
        {
            throw new InvalidOperationException($"A descriptor of {owner} is in another async wait already: a driver is waited on by one wait at a time.");
        }

        throw LinuxError.FromErrno(errno, "epoll_ctl(EPOLL_CTL_ADD)", owner, opened: true);
    }

    /// <summary>Removes <paramref name="fd"/> (registered by <see cref="Add"/>; still open). Never throws.</summary>
    internal void Remove(int fd)
    {
        // A non-null event for kernels before 2.6.9, which required one even for EPOLL_CTL_DEL.
        byte* entry = stackalloc byte[16];
        EpollEvent.Write(entry, 0, 0);
        _ = LibC.EpollCtl(_epoll, LinuxConstants.EPOLL_CTL_DEL, fd, entry);
    }

    private void Run()
    {
        // Native memory rather than a pinned array: the thread lives as long as the process.
        byte* events = (byte*)NativeMemory.Alloc((nuint)(EventsPerWait * EpollEvent.Size));
        while (true)
        {
            // Sound: the buffer holds EventsPerWait entries of the kernel's size and is never freed.
            int count = LibC.EpollWait(_epoll, events, EventsPerWait, -1);
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                // epoll_wait on a valid descriptor and buffer fails only with EINTR: anything else is a broken process.
                Environment.FailFast($"epoll_wait of the NetBuf async wait reactor failed: {Errno.Name(errno)}.");
            }

            AsyncReceiveWaiter?[] slots = Volatile.Read(ref _slots);
            for (int i = 0; i < count; i++)
            {
                byte* entry = events + (i * EpollEvent.Size);
                ulong key = EpollEvent.ReadData(entry);
                int slot = (int)(key >> 32) - 1;
                if ((uint)slot < (uint)slots.Length)
                {
                    bool error = (EpollEvent.ReadEvents(entry) & (LinuxConstants.EPOLLERR | LinuxConstants.EPOLLHUP)) != 0;
                    Volatile.Read(ref slots[slot])?.OnDescriptorReady(key, error);
                }
            }
        }
    }
}

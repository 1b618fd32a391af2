namespace NetBufNative.Drivers;

/// <summary>
/// The due times of every pending asynchronous wait (its deadline, or its next device check when sooner) in one
/// min-heap, served by one process-wide <see cref="Timer"/> set to the earliest: a wait with a timeout allocates no
/// timer of its own, and adding or removing one is O(log n) under one lock. The same on every OS (the reactor's thread
/// is Linux-only, and the loopback driver's waits need no descriptor).
/// </summary>
/// <remarks>
/// <para>
/// The timer's callback runs on the thread pool: it takes every waiter that is due, sets the timer to the next one, and
/// notifies them (<see cref="AsyncReceiveWaiter.OnDue"/>) outside the lock. A waiter removed before its time leaves the
/// timer set: it fires, finds nothing due, and is set again (cheaper than re-setting it at every removal). Under a
/// starved thread pool a timeout or a device check comes late; frames, disposal and cancellation do not depend on it.
/// </para>
/// <para>Thread safety: every member may be called from any thread.</para>
/// </remarks>
internal static class AsyncWaitTimer
{
    private static readonly object s_lock = new();
    private static AsyncReceiveWaiter[] s_heap = new AsyncReceiveWaiter[16];
    private static AsyncReceiveWaiter?[]? s_spare = new AsyncReceiveWaiter?[16];
    private static int s_count;
    private static long s_timerDue = long.MaxValue;
    private static Timer? s_timer;

    /// <summary>Pending due times (tests read it).</summary>
    internal static int Count
    {
        get
        {
            lock (s_lock)
            {
                return s_count;
            }
        }
    }

    /// <summary>Puts <paramref name="waiter"/> in the heap due at <paramref name="due"/> (<see cref="Environment.TickCount64"/>), or moves it there.</summary>
    internal static void Schedule(AsyncReceiveWaiter waiter, long due)
    {
        lock (s_lock)
        {
            if (waiter.TimerIndex >= 0)
            {
                RemoveAt(waiter.TimerIndex);
            }

            if (s_count == s_heap.Length)
            {
                Array.Resize(ref s_heap, s_count * 2);
            }

            waiter.TimerDue = due;
            s_heap[s_count] = waiter;
            waiter.TimerIndex = s_count;
            SiftUp(s_count++);
            if (due < s_timerDue)
            {
                SetTimer(due);
            }
        }
    }

    /// <summary>Takes <paramref name="waiter"/> out of the heap, if it is there.</summary>
    internal static void Cancel(AsyncReceiveWaiter waiter)
    {
        // Only the waiter's holder puts it in, so a -1 read without the lock means it is not there (the timer's
        // callback may take it out meanwhile, never in).
        if (waiter.TimerIndex < 0)
        {
            return;
        }

        lock (s_lock)
        {
            if (waiter.TimerIndex >= 0)
            {
                RemoveAt(waiter.TimerIndex);
            }
        }
    }

    private static void SetTimer(long due)
    {
        s_timerDue = due;

        // At least 1 ms: a timer that fires a little before its time (tick rounding) then waits again rather than spinning.
        long delay = Math.Max(1, due - Environment.TickCount64);
        if (s_timer is null)
        {
            // Not captured: a timer made inside an async flow would otherwise keep that flow's ExecutionContext.
            using (ExecutionContext.SuppressFlow())
            {
                s_timer = new Timer(static _ => OnTimer(), null, delay, Timeout.Infinite);
            }
        }
        else
        {
            s_timer.Change(delay, Timeout.Infinite);
        }
    }

    private static void OnTimer()
    {
        AsyncReceiveWaiter?[] fired;
        int firedCount = 0;
        lock (s_lock)
        {
            fired = s_spare ?? new AsyncReceiveWaiter?[Math.Max(16, s_count)];
            s_spare = null;
            s_timerDue = long.MaxValue;
            long now = Environment.TickCount64;
            while (s_count > 0 && s_heap[0].TimerDue <= now)
            {
                if (firedCount == fired.Length)
                {
                    Array.Resize(ref fired, fired.Length * 2);
                }

                fired[firedCount++] = s_heap[0];
                RemoveAt(0);
            }

            if (s_count > 0)
            {
                SetTimer(s_heap[0].TimerDue);
            }
        }

        for (int i = 0; i < firedCount; i++)
        {
            fired[i]!.OnDue();
            fired[i] = null;
        }

        Volatile.Write(ref s_spare, fired);
    }

    private static void RemoveAt(int index)
    {
        AsyncReceiveWaiter removed = s_heap[index];
        removed.TimerIndex = -1;
        int last = --s_count;
        if (index != last)
        {
            AsyncReceiveWaiter moved = s_heap[last];
            s_heap[index] = moved;
            moved.TimerIndex = index;
            SiftUp(index);
            SiftDown(moved.TimerIndex);
        }

        s_heap[last] = null!;
    }

    private static void SiftUp(int index)
    {
        AsyncReceiveWaiter item = s_heap[index];
        while (index > 0)
        {
            int parent = (index - 1) / 2;
            if (s_heap[parent].TimerDue <= item.TimerDue)
            {
                break;
            }

            Place(s_heap[parent], index);
            index = parent;
        }

        Place(item, index);
    }

    private static void SiftDown(int index)
    {
        AsyncReceiveWaiter item = s_heap[index];
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= s_count)
            {
                break;
            }

            if (child + 1 < s_count && s_heap[child + 1].TimerDue < s_heap[child].TimerDue)
            {
                child++;
            }

            if (item.TimerDue <= s_heap[child].TimerDue)
            {
                break;
            }

            Place(s_heap[child], index);
            index = child;
        }

        Place(item, index);
    }

    private static void Place(AsyncReceiveWaiter item, int index)
    {
        s_heap[index] = item;
        item.TimerIndex = index;
    }
}

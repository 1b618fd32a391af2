namespace NetBufNative.Internal;

/// <summary>
/// The live objects an observable instrument reports on (drivers, loops): held weakly, so an object that was abandoned
/// without being disposed does not stay alive for its metrics; the instruments are made when the first one registers.
/// </summary>
/// <typeparam name="T">What is registered.</typeparam>
/// <remarks>Thread-safe; a lock taken only when an object opens or closes and when the instruments are read.</remarks>
internal sealed class WeakRegistry<T>(Action createInstruments)
    where T : class
{
    private readonly Lock _lock = new();
    private readonly List<WeakReference<T>> _items = [];
    private int _created;

    /// <summary>Adds <paramref name="item"/> (and makes the instruments, the first time).</summary>
    internal void Register(T item)
    {
        if (Interlocked.Exchange(ref _created, 1) == 0)
        {
            createInstruments();
        }

        lock (_lock)
        {
            _items.RemoveAll(static w => !w.TryGetTarget(out _));
            _items.Add(new WeakReference<T>(item));
        }
    }

    /// <summary>Removes <paramref name="item"/> (and any collected entry).</summary>
    internal void Unregister(T item)
    {
        lock (_lock)
        {
            _items.RemoveAll(w => !w.TryGetTarget(out T? other) || ReferenceEquals(other, item));
        }
    }

    /// <summary>The registered objects still alive, in registration order.</summary>
    internal List<T> Live()
    {
        lock (_lock)
        {
            var live = new List<T>(_items.Count);
            foreach (WeakReference<T> reference in _items)
            {
                if (reference.TryGetTarget(out T? item))
                {
                    live.Add(item);
                }
            }

            return live;
        }
    }
}

namespace NetBufNative.Bench;

/// <summary>
/// The ArceOS original's design, for comparison: a stack of free buffer offsets behind a mutex
/// (<c>Mutex&lt;Vec&lt;usize&gt;&gt;</c>), here a <see cref="Lock"/> around an array.
/// </summary>
public sealed class LockedFreeList
{
    private readonly Lock _lock = new();
    private readonly int[] _free;
    private int _count;

    /// <summary>Creates the list with indices 0..capacity-1 free.</summary>
    public LockedFreeList(int capacity)
    {
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _free[i] = capacity - 1 - i;
        }

        _count = capacity;
    }

    /// <summary>Pops a free index, or -1 when none is left.</summary>
    public int Alloc()
    {
        lock (_lock)
        {
            return _count == 0 ? -1 : _free[--_count];
        }
    }

    /// <summary>Pushes an index back.</summary>
    public void Free(int index)
    {
        lock (_lock)
        {
            _free[_count++] = index;
        }
    }
}

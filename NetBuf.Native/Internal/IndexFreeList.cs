using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// A lock-free Treiber stack of buffer indices. The links live in the slots' <see cref="BufferSlot.NextLink"/>;
/// the head is one 64-bit word: the top index in the low 32 bits and a version tag in the high 32
/// bits. .NET has no double-width CAS, so the tag shares the word with the index; every successful
/// CAS bumps it (<see cref="IFreeListPolicy.NextTag"/>), so a thread that read head A, slept while
/// others popped A and pushed it back, then wakes up, fails its CAS instead of installing a stale
/// next link (the ABA problem). Each node also records its depth, so the count is a consistent
/// O(1) snapshot without a shared counter on the hot path.
/// </summary>
/// <typeparam name="TPolicy">The tag and hook policy; <see cref="AbaTaggedPolicy"/> in production.</typeparam>
/// <remarks>All methods are thread-safe and lock-free. The struct must live in a field and be used in place.</remarks>
internal struct IndexFreeList<TPolicy>
    where TPolicy : struct, IFreeListPolicy
{
    /// <summary>Low half of the head when the list is empty (as an int: -1, also the bottom link).</summary>
    public const int Empty = -1;

    /// <summary>Low half of the head once <see cref="Close"/> ran (as an int: -2).</summary>
    public const int Closed = -2;

    private const long IndexMask = 0xFFFF_FFFF;

    private PaddedHead _head;

    /// <summary>
    /// Starts the list over a table of zeroed slots, which already link 0, 1, ..., capacity-1
    /// (see <see cref="BufferSlot"/>), with 0 on top. Not thread-safe: call before publishing.
    /// </summary>
    public void Initialize(SlotTable slots)
    {
        Volatile.Write(ref _head.Value, slots.Capacity > 0 ? 0 : Empty & IndexMask);
    }

    /// <summary>Pops the top index.</summary>
    /// <returns>The index, or <see cref="Empty"/>, or <see cref="Closed"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pop(SlotTable slots) => Pop(slots, out _);

    /// <summary>Pops the top index, and tells how many the list held just before.</summary>
    /// <param name="slots">The metadata holding the links.</param>
    /// <param name="countBefore">The list's length before the pop (its depth at the popped node); 0 when nothing was popped.</param>
    /// <returns>The index, or <see cref="Empty"/>, or <see cref="Closed"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pop(SlotTable slots, out int countBefore)
    {
        ref long head = ref _head.Value;
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int index = (int)observed;
            if (index < 0)
            {
                countBefore = 0;
                return index;
            }

            // Read with the link, from the same slot; valid if the CAS below succeeds.
            countBefore = DepthOf(slots, index);
            int next = NextOf(slots, index);
            TPolicy.BeforeCompareExchange();
            long desired = TPolicy.NextTag(observed) | (uint)next;
            long actual = Interlocked.CompareExchange(ref head, desired, observed);
            if (actual == observed)
            {
                return index;
            }

            observed = actual;
        }
    }

    /// <summary>Pushes <paramref name="index"/>, which the caller owns exclusively.</summary>
    /// <returns><see langword="false"/> when the list is closed; the index was not pushed.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(SlotTable slots, int index)
    {
        ref long head = ref _head.Value;
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top == Closed)
            {
                return false;
            }

            // Plain writes: the CAS below is a full fence that publishes them with the new head.
            SetNext(slots, index, top);
            SetDepth(slots, index, top < 0 ? 1 : DepthOf(slots, top) + 1);
            TPolicy.BeforeCompareExchange();
            long desired = TPolicy.NextTag(observed) | (uint)index;
            long actual = Interlocked.CompareExchange(ref head, desired, observed);
            if (actual == observed)
            {
                return true;
            }

            observed = actual;
        }
    }

    /// <summary>
    /// Pops up to <paramref name="destination"/>.Length indices with one CAS: walks the links
    /// from the head, then swings the head past the last one taken. The walk may read links that
    /// other threads are changing, but then the tagged head has changed too and the CAS fails.
    /// </summary>
    /// <param name="slots">The metadata holding the links.</param>
    /// <param name="destination">Receives the popped indices, top first.</param>
    /// <param name="allOrNothing">Pop nothing unless the list holds enough to fill <paramref name="destination"/>.</param>
    /// <returns>How many were popped (0 when empty or, all-or-nothing, too short), or <see cref="Closed"/>.</returns>
    public int PopBatch(SlotTable slots, Span<int> destination, bool allOrNothing)
    {
        ref long head = ref _head.Value;
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top < 0)
            {
                return top == Closed ? Closed : 0;
            }

            // Bounded by the destination's length, so even a garbage (cyclic) chain ends.
            int count = 0;
            int next = top;
            while (count < destination.Length && next >= 0)
            {
                destination[count++] = next;
                next = NextOf(slots, next);
            }

            if (allOrNothing && count < destination.Length)
            {
                long again = Volatile.Read(ref head);
                if (again == observed)
                {
                    return 0;
                }

                observed = again;
                continue;
            }

            TPolicy.BeforeCompareExchange();
            long desired = TPolicy.NextTag(observed) | (uint)next;
            long actual = Interlocked.CompareExchange(ref head, desired, observed);
            if (actual == observed)
            {
                return count;
            }

            observed = actual;
        }
    }

    /// <summary>
    /// Pushes <paramref name="indices"/> (owned exclusively by the caller) with one CAS: links
    /// them into a chain first, then publishes the chain. <paramref name="indices"/>[0] ends on top.
    /// </summary>
    /// <returns><see langword="false"/> when the list is closed; nothing was pushed.</returns>
    public bool TryPushBatch(SlotTable slots, ReadOnlySpan<int> indices)
    {
        if (indices.IsEmpty)
        {
            return true;
        }

        for (int i = 0; i < indices.Length - 1; i++)
        {
            SetNext(slots, indices[i], indices[i + 1]);
        }

        ref long head = ref _head.Value;
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top == Closed)
            {
                return false;
            }

            SetNext(slots, indices[^1], top);
            int below = top < 0 ? 0 : DepthOf(slots, top);
            for (int i = 0; i < indices.Length; i++)
            {
                SetDepth(slots, indices[i], below + indices.Length - i);
            }

            TPolicy.BeforeCompareExchange();
            long desired = TPolicy.NextTag(observed) | (uint)indices[0];
            long actual = Interlocked.CompareExchange(ref head, desired, observed);
            if (actual == observed)
            {
                return true;
            }

            observed = actual;
        }
    }

    /// <summary>How many indices the list holds: a consistent snapshot (0 once closed).</summary>
    public readonly int Count(SlotTable slots)
    {
        long observed = Volatile.Read(in _head.Value);
        while (true)
        {
            int top = (int)observed;
            if (top < 0)
            {
                return 0;
            }

            // The depth is valid only if the node was still on top after reading it.
            int depth = DepthOf(slots, top);
            long again = Volatile.Read(in _head.Value);
            if (again == observed)
            {
                return depth;
            }

            observed = again;
        }
    }

    /// <summary>
    /// Closes the list: from now on <see cref="Pop(SlotTable)"/> returns <see cref="Closed"/> and
    /// <see cref="TryPush"/> returns false. The indices it held stay where they are.
    /// </summary>
    /// <returns>How many indices the list held when it closed, or -1 if it was closed already.</returns>
    public int Close(SlotTable slots)
    {
        ref long head = ref _head.Value;
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top == Closed)
            {
                return -1;
            }

            long desired = TPolicy.NextTag(observed) | (Closed & IndexMask);
            long actual = Interlocked.CompareExchange(ref head, desired, observed);
            if (actual == observed)
            {
                // Nobody pops a closed list, so the old top's depth can no longer change.
                return top < 0 ? 0 : DepthOf(slots, top);
            }

            observed = actual;
        }
    }

    /// <summary>The next index below <paramref name="index"/>, or <see cref="Empty"/> at the bottom.</summary>
    /// <remarks>
    /// Links are stored relative to the slot (see <see cref="BufferSlot"/>). Every index that reaches
    /// these accessors is one the head or a link held or one the pool validated, so it is in range;
    /// a link read from a node another thread just popped may be garbage, but the tagged CAS that
    /// would use it then fails. A garbage link is clamped to a valid index or Empty, so even the
    /// bounded walks of <see cref="PopBatch"/> never index outside the table.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NextOf(SlotTable slots, int index)
    {
        long next = (long)index + 1 + Volatile.Read(ref slots[index].NextLink);
        return (ulong)next < (ulong)slots.Capacity ? (int)next : Empty;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetNext(SlotTable slots, int index, int next) =>
        slots[index].NextLink = (next < 0 ? slots.Capacity : next) - index - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DepthOf(SlotTable slots, int index) =>
        slots.Capacity - index - Volatile.Read(ref slots[index].DepthLink);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetDepth(SlotTable slots, int index, int depth) =>
        slots[index].DepthLink = slots.Capacity - index - depth;
}

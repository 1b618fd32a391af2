using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// A lock-free Treiber stack of buffer indices. The links live in <see cref="BufferSlot.Next"/>;
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

    /// <summary>Links slots 0..count-1 into the list, 0 on top. Not thread-safe: call before publishing.</summary>
    public void Initialize(BufferSlot[] slots, int count)
    {
        for (int i = 0; i < count; i++)
        {
            slots[i].Next = i + 1 < count ? i + 1 : Empty;
            slots[i].Depth = count - i;
        }

        Volatile.Write(ref _head.Value, count > 0 ? 0 : Empty & IndexMask);
    }

    /// <summary>Pops the top index.</summary>
    /// <returns>The index, or <see cref="Empty"/>, or <see cref="Closed"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pop(BufferSlot[] slots) => Pop(slots, out _);

    /// <summary>Pops the top index, and tells how many the list held just before.</summary>
    /// <param name="slots">The metadata holding the links.</param>
    /// <param name="countBefore">The list's length before the pop (its depth at the popped node); 0 when nothing was popped.</param>
    /// <returns>The index, or <see cref="Empty"/>, or <see cref="Closed"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pop(BufferSlot[] slots, out int countBefore)
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
            countBefore = Volatile.Read(ref SlotAt(slots, index).Depth);
            int next = Volatile.Read(ref SlotAt(slots, index).Next);
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
    public bool TryPush(BufferSlot[] slots, int index)
    {
        ref long head = ref _head.Value;
        ref BufferSlot slot = ref SlotAt(slots, index);
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top == Closed)
            {
                return false;
            }

            // Plain writes: the CAS below is a full fence that publishes them with the new head.
            slot.Next = top;
            slot.Depth = top < 0 ? 1 : Volatile.Read(ref SlotAt(slots, top).Depth) + 1;
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
    public int PopBatch(BufferSlot[] slots, Span<int> destination, bool allOrNothing)
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
                next = Volatile.Read(ref SlotAt(slots, next).Next);
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
    public bool TryPushBatch(BufferSlot[] slots, ReadOnlySpan<int> indices)
    {
        if (indices.IsEmpty)
        {
            return true;
        }

        for (int i = 0; i < indices.Length - 1; i++)
        {
            SlotAt(slots, indices[i]).Next = indices[i + 1];
        }

        ref long head = ref _head.Value;
        ref BufferSlot last = ref SlotAt(slots, indices[^1]);
        long observed = Volatile.Read(ref head);
        while (true)
        {
            int top = (int)observed;
            if (top == Closed)
            {
                return false;
            }

            last.Next = top;
            int below = top < 0 ? 0 : Volatile.Read(ref SlotAt(slots, top).Depth);
            for (int i = 0; i < indices.Length; i++)
            {
                SlotAt(slots, indices[i]).Depth = below + indices.Length - i;
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
    public readonly int Count(BufferSlot[] slots)
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
            int depth = Volatile.Read(ref SlotAt(slots, top).Depth);
            long again = Volatile.Read(in _head.Value);
            if (again == observed)
            {
                return depth;
            }

            observed = again;
        }
    }

    /// <summary>
    /// Closes the list: from now on <see cref="Pop(BufferSlot[])"/> returns <see cref="Closed"/> and
    /// <see cref="TryPush"/> returns false. The indices it held stay where they are.
    /// </summary>
    /// <returns>How many indices the list held when it closed, or -1 if it was closed already.</returns>
    public int Close(BufferSlot[] slots)
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
                return top < 0 ? 0 : Volatile.Read(ref SlotAt(slots, top).Depth);
            }

            observed = actual;
        }
    }

    /// <summary>
    /// Element access without a bounds check. Sound because every index that reaches it is
    /// either one the head or a link held (always 0..capacity-1: only valid indices are ever
    /// pushed) or one the pool validated.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref BufferSlot SlotAt(BufferSlot[] slots, int index) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(slots), (nint)(uint)index);
}

using System.Runtime.CompilerServices;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>The hand-over of a lent buffer from one holder to the next (a caller to a driver and back), checked by the pool.</summary>
public sealed unsafe partial class NetBufPool
{
    /// <summary>
    /// Hands a lent buffer over to a new holder: the buffer is lent again under a new token, so the
    /// given pointer and every copy of it go stale at once, and whatever a kept copy is used for
    /// afterwards (a restore, a free, a second hand-over) throws. A driver calls it when it accepts a
    /// buffer from its caller, and again when it gives one back.
    /// </summary>
    /// <param name="bufPtr">The current lending of the buffer.</param>
    /// <param name="handedOver">The new lending, with the regions the pool lent the buffer with; default when this returns false.</param>
    /// <returns><see langword="false"/> when <paramref name="bufPtr"/> is null, not of this pool, or no longer lent
    /// (restored, freed, handed over already, or a stale copy); nothing changed.</returns>
    /// <remarks>
    /// Thread-safe: of two racing hand-overs (or a hand-over and a restore or free) of copies of one
    /// pointer, exactly one succeeds. One compare-and-swap on the buffer's state word; no allocation.
    /// The new lending's regions are the pool's record of the buffer, never the regions carried by
    /// <paramref name="bufPtr"/>: a pointer whose regions were rewritten (to reach past its buffer) cannot pass them on.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryHandOver(NetBufPtr bufPtr, out NetBufPtr handedOver)
    {
        if (!TryRelend(bufPtr, out ulong next))
        {
            handedOver = default;
            return false;
        }

        // The pool's regions, read after the swap (the new token is this thread's alone, so nobody changes them):
        // a pointer is a snapshot, and one whose regions were rewritten must not carry them to the new holder.
        handedOver = MakePointer(bufPtr.BufferIndex, next, _slots[bufPtr.BufferIndex].Regions);
        return true;
    }

    /// <summary>
    /// Hands a lent buffer over to a new holder, as <see cref="TryHandOver(NetBufPtr, out NetBufPtr)"/>,
    /// with its regions set around a frame a device wrote at <paramref name="packetOffset"/>: that much
    /// headroom, an empty header and a packet of <paramref name="packetLength"/> bytes (a driver giving a
    /// received frame to its caller).
    /// </summary>
    /// <param name="bufPtr">The current lending of the buffer.</param>
    /// <param name="packetOffset">Where the frame starts in the buffer.</param>
    /// <param name="packetLength">The frame's length; offset + length must fit the buffer.</param>
    /// <param name="handedOver">The new lending; default when this returns false.</param>
    /// <returns><see langword="false"/> when the frame does not fit the buffer, or <paramref name="bufPtr"/> is not a
    /// current lending of this pool; nothing changed.</returns>
    /// <remarks>Thread-safe like <see cref="TryHandOver(NetBufPtr, out NetBufPtr)"/>.</remarks>
    public bool TryHandOver(NetBufPtr bufPtr, int packetOffset, int packetLength, out NetBufPtr handedOver)
    {
        if ((uint)packetOffset > (uint)_bufferLength || (uint)packetLength > (uint)(_bufferLength - packetOffset) ||
            !TryRelend(bufPtr, out ulong next))
        {
            handedOver = default;
            return false;
        }

        // The new token is known to this thread alone until the pointer is returned, so no other
        // holder can read or write the regions between the swap and this store.
        ulong regions = RegionWord.Make(packetOffset, 0, packetLength);
        _slots[bufPtr.BufferIndex].Regions = regions;
        handedOver = MakePointer(bufPtr.BufferIndex, next, regions);
        return true;
    }

    /// <summary>Hands a lent buffer over to a new holder, as <see cref="TryHandOver(NetBufPtr, out NetBufPtr)"/>, or throws.</summary>
    /// <param name="bufPtr">The current lending of the buffer.</param>
    /// <returns>The new lending, with the same regions.</returns>
    /// <exception cref="ArgumentException">The pointer is null, or was not lent by this pool; nothing changed.</exception>
    /// <exception cref="InvalidOperationException">The pointer is no longer lent (restored, freed, handed over, or a stale copy); nothing changed.</exception>
    /// <remarks>Thread-safe like <see cref="TryHandOver(NetBufPtr, out NetBufPtr)"/>.</remarks>
    public NetBufPtr HandOver(NetBufPtr bufPtr)
    {
        if (!TryHandOver(bufPtr, out NetBufPtr handedOver))
        {
            PointerCheck check = CheckFromThisPool(bufPtr);
            ThrowInvalidPointer(bufPtr, check == PointerCheck.Valid ? PointerCheck.Stale : check);
        }

        return handedOver;
    }

    /// <summary>
    /// Returns a lent buffer to the pool if <paramref name="bufPtr"/> is still its current lending, and
    /// does nothing otherwise: for clean-up paths (a driver's disposal) that must return every buffer
    /// they can and never throw for one that is no longer theirs.
    /// </summary>
    /// <param name="bufPtr">The pointer to free.</param>
    /// <returns><see langword="true"/> when the buffer was returned; <see langword="false"/> for a null, foreign or stale pointer.</returns>
    /// <remarks>Thread-safe: of a free racing a restore or hand-over of a copy, exactly one succeeds.</remarks>
    public bool TryFree(NetBufPtr bufPtr)
    {
        if (CheckFromThisPool(bufPtr) != PointerCheck.Valid)
        {
            return false;
        }

        ulong lent = bufPtr.Token ^ _pointerSalt;
        if (Interlocked.CompareExchange(ref _slots[bufPtr.BufferIndex].State, BufferToken.Next(lent, BufferKind.Free), lent) != lent)
        {
            return false;
        }

        ReturnIndex(bufPtr.BufferIndex);
        return true;
    }

    /// <summary>
    /// Allocates a buffer straight into a lending with a packet of <paramref name="packetLength"/> bytes
    /// after the default headroom: what <c>Alloc()</c>, <c>SetPacketLength</c> and <c>IntoBufPtr()</c> do
    /// together, without a <see cref="NetBuf"/> in between (a driver's transmit buffer).
    /// </summary>
    /// <param name="packetLength">The packet's length; the caller checked that it fits after the headroom.</param>
    /// <param name="bufPtr">The lending; default when this returns false.</param>
    /// <returns><see langword="false"/> only when every buffer is in use.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryAllocLent(int packetLength, out NetBufPtr bufPtr)
    {
        int index = TakeIndex(out _);
        if (index < 0)
        {
            bufPtr = default;
            return false;
        }

        ref BufferSlot slot = ref _slots[index];
        ulong regions = RegionWord.Make(RegionWord.Offset(_defaultRegions), 0, packetLength);
        ulong token = BufferToken.Next(slot.State, BufferKind.Lent);
        slot.Regions = regions;

        // A plain write, as in Acquire: the buffer was popped by this thread alone.
        Volatile.Write(ref slot.State, token);
        bufPtr = MakePointer(index, token, regions);
        return true;
    }

    /// <summary>
    /// <paramref name="bufPtr"/> with the regions the pool lent the buffer with, for a driver's checks of a pointer it is
    /// about to take (a pointer is a snapshot: one whose regions were rewritten must not be measured by them).
    /// </summary>
    /// <param name="bufPtr">A pointer that <see cref="IsLent"/> accepted; the regions are stable while it is current.</param>
    /// <returns>The same lending with the pool's regions.</returns>
    internal NetBufPtr WithLentRegions(NetBufPtr bufPtr) => new(bufPtr.BufferAddress, bufPtr.BufferIndex, bufPtr.Token, _slots[bufPtr.BufferIndex].Regions);

    /// <summary>Moves a current lending to the next generation, still lent: the one compare-and-swap of a hand-over.</summary>
    /// <param name="bufPtr">The pointer to hand over.</param>
    /// <param name="next">The new (unsalted) state word.</param>
    /// <returns><see langword="false"/> for a null, foreign or stale pointer; nothing changed.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryRelend(NetBufPtr bufPtr, out ulong next)
    {
        next = 0;
        if (CheckFromThisPool(bufPtr) != PointerCheck.Valid)
        {
            return false;
        }

        ulong lent = bufPtr.Token ^ _pointerSalt;
        next = BufferToken.Next(lent, BufferKind.Lent);
        return Interlocked.CompareExchange(ref _slots[bufPtr.BufferIndex].State, next, lent) == lent;
    }
}

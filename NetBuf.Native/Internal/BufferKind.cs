namespace NetBufNative.Internal;

/// <summary>Who holds a buffer; the low two bits of its state word.</summary>
internal enum BufferKind : uint
{
    /// <summary>On the free list (or, after the pool closed, back for good).</summary>
    Free = 0,

    /// <summary>Owned by a <see cref="NetBuf"/>.</summary>
    Owned = 1,

    /// <summary>Owned by a <see cref="NetBufBox"/>.</summary>
    Boxed = 2,

    /// <summary>Lent to unsafe code as a <see cref="NetBufPtr"/>.</summary>
    Lent = 3,
}

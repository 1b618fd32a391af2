namespace NetBufNative.Internal;

/// <summary>
/// Encodes a buffer's 64-bit state word: a 62-bit generation above a 2-bit <see cref="BufferKind"/>.
/// Every handle carries the state word it was issued with (its token); the handle is valid while
/// the slot still holds exactly that word. Every change of owner bumps the generation, so a stale
/// copy of a handle matches again only after 2^62 changes of owner of that one buffer: at a
/// billion changes a second, 146 years.
/// </summary>
internal static class BufferToken
{
    private const ulong KindMask = 0b11;

    /// <summary>One generation step: the generation sits above the two kind bits.</summary>
    private const ulong GenerationStep = 1ul << 2;

    /// <summary>The token that follows <paramref name="token"/> when the buffer passes to <paramref name="kind"/>.</summary>
    public static ulong Next(ulong token, BufferKind kind) => unchecked((token & ~KindMask) + GenerationStep) | (ulong)kind;

    /// <summary>The kind encoded in a token.</summary>
    public static BufferKind KindOf(ulong token) => (BufferKind)(token & KindMask);

    /// <summary>A state word of <paramref name="kind"/> at <paramref name="generation"/>.</summary>
    public static ulong Make(ulong generation, BufferKind kind) => (generation << 2) | (ulong)kind;
}

namespace NetBufNative.Internal;

/// <summary>
/// Encodes a buffer's state word: a 30-bit generation above a 2-bit <see cref="BufferKind"/>.
/// Every handle carries the state word it was issued with (its token); the handle is valid while
/// the slot still holds exactly that word. Every change of owner bumps the generation, so a stale
/// copy of a handle never matches again until the generation wraps after 2^30 changes of that one
/// buffer.
/// </summary>
internal static class BufferToken
{
    private const uint KindMask = 0b11;

    /// <summary>One generation step: the generation sits above the two kind bits.</summary>
    private const uint GenerationStep = 1u << 2;

    /// <summary>The token that follows <paramref name="token"/> when the buffer passes to <paramref name="kind"/>.</summary>
    public static uint Next(uint token, BufferKind kind) => ((token & ~KindMask) + GenerationStep) | (uint)kind;

    /// <summary>The kind encoded in a token.</summary>
    public static BufferKind KindOf(uint token) => (BufferKind)(token & KindMask);

    /// <summary>A free state word whose generation starts at <paramref name="seed"/> (a per-pool salt).</summary>
    public static uint InitialFree(uint seed) => seed & ~KindMask;
}

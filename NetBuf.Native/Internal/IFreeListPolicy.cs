using System.Runtime.CompilerServices;

namespace NetBufNative.Internal;

/// <summary>
/// Compile-time knobs of <see cref="IndexFreeList{TPolicy}"/>. The pool uses
/// <see cref="AbaTaggedPolicy"/>; tests plug in an untagged policy to show that the tag is what
/// keeps the list intact, and a yielding hook to widen race windows. Policies are structs, so the
/// JIT specializes the list for each and the production hook compiles to nothing.
/// </summary>
internal interface IFreeListPolicy
{
    /// <summary>The head's upper 32 bits after a successful CAS on <paramref name="head"/>.</summary>
    static abstract long NextTag(long head);

    /// <summary>Called between reading the head (and its node) and the CAS that replaces it.</summary>
    static abstract void BeforeCompareExchange();
}

/// <summary>
/// The production policy: a 32-bit version tag bumped on every successful CAS. Its hooks into
/// <see cref="TestSwitches"/> (a yield, the tag removed) fold away unless the test switches are on.
/// </summary>
internal readonly struct AbaTaggedPolicy : IFreeListPolicy
{
    private const long TagMask = unchecked((long)0xFFFF_FFFF_0000_0000);
    private const long TagStep = 1L << 32;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NextTag(long head) =>
        TestSwitches.Enabled && TestSwitches.FreeListUntagged ? head & TagMask : unchecked((head & TagMask) + TagStep);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeCompareExchange()
    {
        if (TestSwitches.Enabled)
        {
            TestSwitches.MaybeYieldInFreeList();
        }
    }
}

namespace NetBufNative.Internal;

/// <summary>
/// Switches that put known bugs back, or widen race windows, so that tests can show they catch
/// them. Off in production at no cost: every use reads <see cref="Enabled"/> first, a
/// <see langword="static readonly"/> field that the JIT folds to a constant once the class is
/// initialized, so the branch and the mutable fields behind it compile away. The test projects
/// turn it on with the runtime option <c>NetBuf.Native.EnableTestSwitches</c>.
/// </summary>
internal static class TestSwitches
{
    /// <summary>Whether the process allows the switches below (the test projects only).</summary>
    public static readonly bool Enabled =
        AppContext.TryGetSwitch("NetBuf.Native.EnableTestSwitches", out bool enabled) && enabled;

    /// <summary>When non-zero, the pool's free list yields the thread about once in this many
    /// times between reading the head and its CAS, as a preemption would.</summary>
    public static int FreeListYieldOneIn;

    /// <summary>The pool's free list stops bumping its version tag: the ABA bug.</summary>
    public static bool FreeListUntagged;

    /// <summary>A thief skips a cache that shows empty without waiting for its busy gate (spurious
    /// exhaustion: a refill in progress holds buffers that no count shows).</summary>
    public static bool StealSkipsBusyGates;

    /// <summary>A rental's dispose checks its token and clears it with two plain accesses instead
    /// of one CAS (a late second dispose wipes out a newer rental).</summary>
    public static bool RentalDisposeWithoutCompareExchange;

    /// <summary>When non-zero, a Linux driver's batched receive fails with ENETDOWN (as on a link that
    /// went down) once it has taken this many frames in the call: the review's link-flap case.</summary>
    public static int ReceiveFailsAfterFrames;

    /// <summary>When non-zero, the AF_PACKET transmit ring writes this many more frames with a length beyond their slot,
    /// which the kernel refuses (<c>TP_STATUS_WRONG_FORMAT</c>, EMSGSIZE): the refused-slot path.</summary>
    public static int TransmitRingMalformedFrames;

    /// <summary>Yields now and then, as <see cref="FreeListYieldOneIn"/> asks.</summary>
    public static void MaybeYieldInFreeList()
    {
        int oneIn = FreeListYieldOneIn;
        if (oneIn > 0 && Random.Shared.Next(oneIn) == 0)
        {
            Thread.Yield();
        }
    }
}

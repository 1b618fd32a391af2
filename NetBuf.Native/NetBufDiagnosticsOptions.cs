namespace NetBufNative;

/// <summary>
/// The diagnostic mode of a pool (<see cref="NetBufPoolOptions.Diagnostics"/>): for finding bugs no
/// always-on check can see, in tests and debugging sessions, not in production. In one switch it
/// does what DPDK's debug cookies, Kestrel's diagnostic pool, Netty's leak detector and ASan's
/// quarantine each do in part.
/// </summary>
/// <remarks>
/// <para>
/// <b>Poison and quarantine.</b> A freed buffer is filled with <see cref="PoisonByte"/> and held back
/// in a FIFO of the <see cref="QuarantineLength"/> most recently freed buffers before it can be
/// allocated again; when it leaves, the pattern is checked, and a write after free (a span or address
/// kept past its handle) is reported with the buffer and where it was allocated and freed.
/// <b>Guard bytes.</b> Each buffer gets <see cref="GuardLength"/> bytes after its usable length,
/// filled with a pattern at allocation and checked when it comes back: an overrun by unsafe code is
/// reported. <b>Leaks.</b> Every allocation records where it happened (see
/// <see cref="StackTraceSampleRate"/>); <see cref="NetBufPool.GetOutstandingBuffers"/> lists the
/// buffers out, and disposing or collecting a pool with buffers out reports each of them.
/// </para>
/// <para>
/// Reports go to <see cref="OnReport"/> and are counted in the pool's statistics and the
/// <c>netbuf.pool.diagnostic_reports</c> metric. The mode turns the thread caches off (every buffer
/// passes through the checks); a pool without it pays nothing for it.
/// </para>
/// </remarks>
public sealed class NetBufDiagnosticsOptions
{
    /// <summary>Bytes of guard after each buffer's usable length: 64, one cache line, so that an
    /// overrun by a header's length or a small struct is caught (the block's stride grows by it).</summary>
    public const int GuardLength = 64;

    /// <summary>How many freed buffers are held back before reuse (0 to the pool's capacity - 1); 64 by default.
    /// The longer, the later a freed buffer is reused, and the more of a late write is caught.</summary>
    public int QuarantineLength { get; init; } = 64;

    /// <summary>The byte a freed buffer is filled with; 0xDB (for "dead buffer") by default.</summary>
    public byte PoisonByte { get; init; } = 0xDB;

    /// <summary>Take the stack trace of one allocation and free in this many (1: every one, the default;
    /// 0: none). Stack traces are what makes a report useful, and what makes the mode slow.</summary>
    public int StackTraceSampleRate { get; init; } = 1;

    /// <summary>Called with every report, on the thread that found it (for a collected pool, the
    /// finalizer thread): keep it short and let it not throw. Null: reports are only counted.</summary>
    public Action<NetBufDiagnostic>? OnReport { get; init; }
}

namespace NetBufNative;

/// <summary>What a diagnostic report of a pool's diagnostic mode found (<see cref="NetBufDiagnostic.Kind"/>).</summary>
public enum NetBufDiagnosticKind
{
    /// <summary>A freed buffer was written while it sat in quarantine: a span or address kept past its handle.</summary>
    WriteAfterFree = 1,

    /// <summary>The guard bytes after a buffer's usable length were overwritten: unsafe code wrote past the buffer.</summary>
    Overflow,

    /// <summary>A buffer was still out when the pool was disposed or collected (or when asked for with <see cref="NetBufPool.GetOutstandingBuffers"/>).</summary>
    Leak,
}

namespace NetBufNative;

/// <summary>
/// One finding of a pool's diagnostic mode (<see cref="NetBufPoolOptions.Diagnostics"/>): what was
/// found, in which buffer, and where that buffer was allocated and freed when stack traces were
/// taken for it. Immutable.
/// </summary>
public sealed class NetBufDiagnostic
{
    /// <summary>Creates a finding.</summary>
    /// <param name="kind">What was found.</param>
    /// <param name="poolName">The pool's name.</param>
    /// <param name="bufferIndex">The buffer's index in its pool.</param>
    /// <param name="offset">The first byte found wrong, from the buffer's start; -1 for a leak.</param>
    /// <param name="allocatedAt">The stack trace of the buffer's last allocation, or null.</param>
    /// <param name="freedAt">The stack trace of the buffer's last free, or null.</param>
    public NetBufDiagnostic(NetBufDiagnosticKind kind, string poolName, int bufferIndex, int offset, string? allocatedAt, string? freedAt)
    {
        Kind = kind;
        PoolName = poolName;
        BufferIndex = bufferIndex;
        Offset = offset;
        AllocatedAt = allocatedAt;
        FreedAt = freedAt;
    }

    /// <summary>What was found.</summary>
    public NetBufDiagnosticKind Kind { get; }

    /// <summary>The pool's name.</summary>
    public string PoolName { get; }

    /// <summary>The buffer's index in its pool.</summary>
    public int BufferIndex { get; }

    /// <summary>The first byte found wrong, counted from the buffer's start (a guard byte is past its usable length); -1 for a leak.</summary>
    public int Offset { get; }

    /// <summary>The stack trace of the buffer's last allocation, or null when it was not sampled (or the mode is off).</summary>
    public string? AllocatedAt { get; }

    /// <summary>The stack trace of the buffer's last free, or null (a leak, or not sampled).</summary>
    public string? FreedAt { get; }

    /// <summary>A one-line description of the finding.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => Kind switch
    {
        NetBufDiagnosticKind.WriteAfterFree => $"{PoolName}: buffer {BufferIndex} was written at offset {Offset} after it was freed",
        NetBufDiagnosticKind.Overflow => $"{PoolName}: buffer {BufferIndex} was overrun: byte {Offset} from its start, past its usable length, was overwritten",
        _ => $"{PoolName}: buffer {BufferIndex} is still out",
    };
}

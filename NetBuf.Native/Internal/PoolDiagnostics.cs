using System.Diagnostics;

namespace NetBufNative.Internal;

/// <summary>
/// The state of a pool's diagnostic mode (see <see cref="NetBufDiagnosticsOptions"/>): the
/// quarantine, the per-buffer stack traces, and the checks. Only the no-cache paths of the pool
/// call it, so a pool without it pays nothing. Thread-safe: one lock guards the quarantine and
/// the records (the mode is for debugging, not for speed).
/// </summary>
internal sealed unsafe class PoolDiagnostics
{
    /// <summary>The guard pattern: 0xFD, as the C runtime's debug heap fills its "no man's land".</summary>
    private const byte GuardByte = 0xFD;

    private readonly NetBufDiagnosticsOptions _options;
    private readonly string _poolName;
    private readonly int _bufferLength;
    private readonly int _stride;
    private readonly string?[] _allocatedAt;
    private readonly string?[] _freedAt;
    private readonly Queue<int> _quarantine = new();
    private readonly Lock _gate = new();
    private byte* _block;
    private bool _closed;
    private long _samples;
    private long _reports;

    public PoolDiagnostics(NetBufDiagnosticsOptions options, string poolName, int capacity, int bufferLength, int stride)
    {
        _options = options;
        _poolName = poolName;
        _bufferLength = bufferLength;
        _stride = stride;
        _allocatedAt = new string?[capacity];
        _freedAt = new string?[capacity];
    }

    /// <summary>
    /// Held by the pool around every take from and return to its free list in this mode, so that a
    /// buffer leaving the quarantine reaches the free list before any other thread can look: no
    /// take ever sees a buffer in neither place (reentrant with the quarantine's own locking).
    /// </summary>
    public Lock Gate => _gate;

    /// <summary>Reports made so far.</summary>
    public long Reports => Interlocked.Read(ref _reports);

    /// <summary>Buffers held in quarantine: free, but not available.</summary>
    public int Quarantined
    {
        get
        {
            lock (_gate)
            {
                return _quarantine.Count;
            }
        }
    }

    /// <summary>Sets the block once it is allocated.</summary>
    public void Attach(byte* block) => _block = block;

    /// <summary>A buffer was taken for a new owner: arm its guard bytes and record where.</summary>
    public void OnTaken(int index)
    {
        new Span<byte>(Buffer(index) + _bufferLength, NetBufDiagnosticsOptions.GuardLength).Fill(GuardByte);
        string? trace = Sample();
        lock (_gate)
        {
            _allocatedAt[index] = trace;
            _freedAt[index] = null;
        }
    }

    /// <summary>
    /// A buffer came back: check its guard bytes, poison it and put it in quarantine.
    /// </summary>
    /// <returns>A buffer to push to the free list now (the one leaving quarantine, checked), or -1;
    /// <paramref name="index"/> itself when the quarantine is closed (the pool is disposed).</returns>
    public int OnReturned(int index)
    {
        CheckGuard(index);
        new Span<byte>(Buffer(index), _bufferLength).Fill(_options.PoisonByte);
        string? trace = Sample();
        lock (_gate)
        {
            _freedAt[index] = trace;
            if (_closed)
            {
                return index;
            }

            _quarantine.Enqueue(index);
            if (_quarantine.Count <= _options.QuarantineLength)
            {
                return -1;
            }
        }

        return ReleaseOldest();
    }

    /// <summary>Takes the oldest buffer out of quarantine, checked; -1 when the quarantine is empty.</summary>
    public int ReleaseOldest()
    {
        int oldest;
        lock (_gate)
        {
            if (!_quarantine.TryDequeue(out oldest))
            {
                return -1;
            }
        }

        CheckPoison(oldest);
        return oldest;
    }

    /// <summary>Closes the quarantine for the pool's disposal: its buffers are checked and counted as free.</summary>
    /// <returns>How many buffers it held.</returns>
    public int Close()
    {
        int[] held;
        lock (_gate)
        {
            _closed = true;
            held = [.. _quarantine];
            _quarantine.Clear();
        }

        foreach (int index in held)
        {
            CheckPoison(index);
        }

        return held.Length;
    }

    /// <summary>A report of a buffer still out, with where it was allocated.</summary>
    public NetBufDiagnostic Leak(int index)
    {
        lock (_gate)
        {
            return new NetBufDiagnostic(NetBufDiagnosticKind.Leak, _poolName, index, -1, _allocatedAt[index], null);
        }
    }

    /// <summary>Reports <paramref name="report"/>: counts it and calls the callback (whose exceptions are swallowed: a report must not break the pool).</summary>
    public void Report(NetBufDiagnostic report)
    {
        Interlocked.Increment(ref _reports);
        try
        {
            _options.OnReport?.Invoke(report);
        }
#pragma warning disable CA1031 // A user's report callback must not be able to break the pool's free path.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private byte* Buffer(int index) => _block + ((nint)index * _stride);

    private void CheckGuard(int index)
    {
        var guard = new ReadOnlySpan<byte>(Buffer(index) + _bufferLength, NetBufDiagnosticsOptions.GuardLength);
        int bad = guard.IndexOfAnyExcept(GuardByte);
        if (bad >= 0)
        {
            Report(Make(NetBufDiagnosticKind.Overflow, index, _bufferLength + bad));
        }
    }

    private void CheckPoison(int index)
    {
        var buffer = new ReadOnlySpan<byte>(Buffer(index), _bufferLength);
        int bad = buffer.IndexOfAnyExcept(_options.PoisonByte);
        if (bad >= 0)
        {
            Report(Make(NetBufDiagnosticKind.WriteAfterFree, index, bad));
        }
    }

    private NetBufDiagnostic Make(NetBufDiagnosticKind kind, int index, int offset)
    {
        lock (_gate)
        {
            return new NetBufDiagnostic(kind, _poolName, index, offset, _allocatedAt[index], _freedAt[index]);
        }
    }

    private string? Sample()
    {
        int rate = _options.StackTraceSampleRate;
        if (rate <= 0 || Interlocked.Increment(ref _samples) % rate != 0)
        {
            return null;
        }

        // Skip this method and the pool's hook: the trace starts at the pool's public caller.
        return new StackTrace(2, fNeedFileInfo: true).ToString();
    }
}

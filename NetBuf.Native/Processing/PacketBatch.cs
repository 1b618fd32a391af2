using NetBufNative.Drivers;

namespace NetBufNative.Processing;

/// <summary>
/// The frames one port of a <see cref="PacketLoop"/> delivered in a turn, and what the handler decides for each: sent on a
/// port (the same or another, from the buffer it arrived in), kept by the handler, or dropped (the default). The loop
/// carries the decisions out after <see cref="IPacketHandler.OnReceived"/> returns.
/// </summary>
/// <remarks>
/// Valid only during <see cref="IPacketHandler.OnReceived"/>, on the loop's thread (one instance is reused, so the loop
/// allocates nothing per batch). A frame's bytes may be changed in place (<see cref="Frame"/>); to change its length or
/// regions, <see cref="Keep"/> it, work on it through the pool, and <see cref="Send"/> it.
/// </remarks>
public sealed class PacketBatch
{
    /// <summary>A frame to drop (the default decision).</summary>
    internal const int DropVerdict = -1;

    /// <summary>A frame the handler kept.</summary>
    internal const int KeptVerdict = -2;

    private readonly PacketLoop _loop;
    private readonly NetBufPtr[] _frames;
    private readonly int[] _verdicts;
    private readonly NetBufPtr[] _sends;
    private readonly int[] _sendPorts;
    private int _sendCount;
    private bool _open;

    internal PacketBatch(PacketLoop loop, int burstSize)
    {
        _loop = loop;
        _frames = new NetBufPtr[burstSize];
        _verdicts = new int[burstSize];
        _sends = new NetBufPtr[burstSize];
        _sendPorts = new int[burstSize];
    }

    /// <summary>The index of the port (in <see cref="PacketLoop.Ports"/>) the frames came from.</summary>
    public int Port { get; private set; }

    /// <summary>The driver of <see cref="Port"/>.</summary>
    public INetDriver Driver => _loop.Ports[Port];

    /// <summary>The loop's ports, to address a frame to by index.</summary>
    public IReadOnlyList<INetDriver> Ports => _loop.Ports;

    /// <summary>How many frames the batch holds.</summary>
    public int Count { get; private set; }

    /// <summary>How many more frames <see cref="Send"/> takes in this batch (as many as <see cref="PacketLoopOptions.BurstSize"/> per batch).</summary>
    public int SendRoom => _sends.Length - _sendCount;

    /// <summary>The frames the batch received; read-only, as the loop owns them until it carries the decisions out.</summary>
    internal ReadOnlySpan<NetBufPtr> Frames => _frames.AsSpan(0, Count);

    /// <summary>Where every frame will go: a port index, <see cref="DropVerdict"/> or <see cref="KeptVerdict"/>.</summary>
    internal ReadOnlySpan<int> Verdicts => _verdicts.AsSpan(0, Count);

    /// <summary>The frames added by <see cref="Send"/>.</summary>
    internal ReadOnlySpan<NetBufPtr> Sends => _sends.AsSpan(0, _sendCount);

    /// <summary>The port of each of <see cref="Sends"/>.</summary>
    internal ReadOnlySpan<int> SendPorts => _sendPorts.AsSpan(0, _sendCount);

    /// <summary>The buffer the loop receives a port's frames into.</summary>
    internal Span<NetBufPtr> ReceiveSpace => _frames;

    /// <summary>The buffer of frame <paramref name="index"/> (its packet region is the frame).</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public NetBufPtr this[int index]
    {
        get
        {
            CheckIndex(index);
            return _frames[index];
        }
    }

    /// <summary>The bytes of frame <paramref name="index"/> (the Ethernet header onwards), to read or change in place.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <returns>The frame's bytes in its buffer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public Span<byte> Frame(int index)
    {
        CheckIndex(index);
        return _frames[index].PacketWithHeader;
    }

    /// <summary>Changes the length of frame <paramref name="index"/> (it keeps its first byte): for a reply written over its
    /// request that is shorter or longer than it, within the buffer.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <param name="length">The frame's new length in bytes, from its first byte; at least 1, and within the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range, or the frame would not fit its buffer.</exception>
    /// <exception cref="InvalidOperationException">The frame was kept already (it is the handler's: change it through the pool).</exception>
    /// <remarks>The frame's buffer is handed over to the loop again with the new regions (one compare-and-swap): a copy of
    /// the frame's pointer taken before this call is stale afterwards.</remarks>
    public void SetFrameLength(int index, int length)
    {
        CheckIndex(index);
        CheckNotKept(index);
        NetBufPtr frame = _frames[index];
        int offset = (int)(frame.HeaderAddress - frame.BufferAddress);
        if (length < 1 || !_loop.Pool.TryHandOver(frame, offset, length, out NetBufPtr resized))
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A frame at offset {offset} of a {_loop.Pool.BufferLength}-byte buffer is 1 to {_loop.Pool.BufferLength - offset} bytes long.");
        }

        _frames[index] = resized;
    }

    /// <summary>Sends frame <paramref name="index"/> on port <paramref name="port"/> when the handler returns, from the buffer it arrived in.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <param name="port">A port index of the loop (the frame's own port reflects it).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> or <paramref name="port"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The frame was kept already (it is the handler's).</exception>
    public void Transmit(int index, int port)
    {
        CheckIndex(index);
        CheckPort(port);
        CheckNotKept(index);
        _verdicts[index] = port;
    }

    /// <summary>Sends every frame of the batch on port <paramref name="port"/> (those not kept).</summary>
    /// <param name="port">A port index of the loop.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is out of range.</exception>
    public void TransmitAll(int port)
    {
        CheckPort(port);
        for (int i = 0; i < Count; i++)
        {
            if (_verdicts[i] != KeptVerdict)
            {
                _verdicts[i] = port;
            }
        }
    }

    /// <summary>Drops frame <paramref name="index"/>: its buffer goes back to the pool (the default for every frame).</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The frame was kept already.</exception>
    public void Drop(int index)
    {
        CheckIndex(index);
        CheckNotKept(index);
        _verdicts[index] = DropVerdict;
    }

    /// <summary>Takes frame <paramref name="index"/> out of the loop's hands: the caller owns its buffer from now on (and
    /// must send it, with <see cref="Send"/> or a driver, or free it).</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <returns>The frame's buffer, lent by the ports' pool.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The frame was kept already.</exception>
    public NetBufPtr Keep(int index)
    {
        CheckIndex(index);
        CheckNotKept(index);
        _verdicts[index] = KeptVerdict;
        return _frames[index];
    }

    /// <summary>Sends a frame the handler owns (a kept one, or a new one from the pool) on port <paramref name="port"/> when the
    /// handler returns; the loop owns it from this call on, and frees it if the port does not take it.</summary>
    /// <param name="frame">A buffer lent by the ports' pool, the frame as its header and packet.</param>
    /// <param name="port">A port index of the loop.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="frame"/> is not a current lending of the pool (nothing was taken).</exception>
    /// <exception cref="InvalidOperationException"><see cref="SendRoom"/> is 0, or the batch is over (called after
    /// <see cref="IPacketHandler.OnReceived"/> returned): nothing was taken.</exception>
    public void Send(NetBufPtr frame, int port)
    {
        if (!_open)
        {
            throw new InvalidOperationException("The batch is over (its handler returned): a batch takes frames only during OnReceived; nothing was taken.");
        }

        CheckPort(port);
        if (!_loop.Pool.IsLent(frame))
        {
            throw new ArgumentException($"{frame} is not a buffer lent by {_loop.Pool.Name}, the pool of the loop's ports (nothing was taken).", nameof(frame));
        }

        if (_sendCount == _sends.Length)
        {
            throw new InvalidOperationException($"A batch sends at most {_sends.Length} new frames (the loop's burst size); nothing was taken.");
        }

        _sends[_sendCount] = frame;
        _sendPorts[_sendCount++] = port;
    }

    /// <summary>Starts a batch of <paramref name="count"/> frames received on <paramref name="port"/>, each to be dropped.</summary>
    internal void Reset(int port, int count)
    {
        Port = port;
        Count = count;
        _sendCount = 0;
        _open = true;
        _verdicts.AsSpan(0, count).Fill(DropVerdict);
    }

    /// <summary>Forgets the batch (after its decisions were carried out).</summary>
    internal void Clear()
    {
        _frames.AsSpan(0, Count).Clear();
        _sends.AsSpan(0, _sendCount).Clear();
        Count = 0;
        _sendCount = 0;
        _open = false;
    }

    private void CheckIndex(int index) => ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));

    private void CheckPort(int port) => ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)port, (uint)_loop.Ports.Count, nameof(port));

    private void CheckNotKept(int index)
    {
        if (_verdicts[index] == KeptVerdict)
        {
            throw new InvalidOperationException($"Frame {index} was kept: it is the handler's, to send with Send or free.");
        }
    }
}

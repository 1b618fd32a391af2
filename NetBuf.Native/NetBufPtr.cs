namespace NetBufNative;

/// <summary>
/// A pool buffer lent to unsafe driver code: the buffer's address, its packet's address and
/// length (the original's <c>NetBufPtr</c>), plus the buffer's index and a generation token that
/// let <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/> validate it instead of trusting it.
/// </summary>
/// <remarks>
/// <para>
/// A pointer is a snapshot taken when the buffer was lent; the buffer cannot change until the
/// pointer is restored. It is valid until then, and only while its pool is alive: a
/// <see cref="NetBufPtr"/> does not keep the pool from being collected, so keep a reference to the
/// pool while buffers are lent. Copies are allowed (a driver ring may hold one); exactly one
/// restore succeeds, later ones throw.
/// </para>
/// <para>Immutable and thread-safe to read.</para>
/// </remarks>
public readonly unsafe struct NetBufPtr : IEquatable<NetBufPtr>
{
    private readonly nint _buffer;
    private readonly ulong _token;
    private readonly ulong _regions;
    private readonly int _index;

    internal NetBufPtr(nint buffer, int index, ulong token, ulong regions)
    {
        _buffer = buffer;
        _index = index;
        _token = token;
        _regions = regions;
    }

    /// <summary>Whether this is the default (null) pointer.</summary>
    public bool IsNull => _buffer == 0;

    /// <summary>The address of the buffer's first byte (on a cache-line boundary).</summary>
    public nint BufferAddress => _buffer;

    /// <summary>The buffer's index in its pool: buffer <c>i</c> starts at <c>i * BufferStride</c> from the pool's first buffer.</summary>
    public int BufferIndex => _index;

    /// <summary>The address of the header region's first byte: the frame as it goes on the wire starts here.</summary>
    public nint HeaderAddress => _buffer + Offset;

    /// <summary>The header region's length.</summary>
    public int HeaderLength => Internal.RegionWord.HeaderLength(_regions);

    /// <summary>The address of the packet region's first byte (the original's <c>packet()</c>).</summary>
    public nint PacketAddress => _buffer + Internal.RegionWord.PacketStart(_regions);

    /// <summary>The packet region's length (the original's <c>packet_len()</c>).</summary>
    public int PacketLength => Internal.RegionWord.PacketLength(_regions);

    /// <summary>
    /// The packet region as a span. Unchecked: valid only while the buffer is lent and its pool
    /// alive, like the address it is made from. Empty for a null pointer.
    /// </summary>
    public Span<byte> Packet => IsNull ? default : new Span<byte>((void*)PacketAddress, PacketLength);

    /// <summary>The header and packet regions as one span; unchecked like <see cref="Packet"/>.</summary>
    public Span<byte> PacketWithHeader => IsNull ? default : new Span<byte>((void*)HeaderAddress, Internal.RegionWord.FrameLength(_regions));

    /// <summary>The state word the buffer was lent with, salted by its pool.</summary>
    internal ulong Token => _token;

    /// <summary>The region word the buffer was lent with.</summary>
    internal ulong Regions => _regions;

    /// <summary>The header's offset in the buffer (the headroom).</summary>
    private int Offset => Internal.RegionWord.Offset(_regions);

    /// <summary>Whether both are the same lending of the same buffer.</summary>
    /// <param name="other">The other pointer.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public bool Equals(NetBufPtr other) =>
        _buffer == other._buffer && _index == other._index && _token == other._token && _regions == other._regions;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NetBufPtr other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_buffer, _index, _token);

    /// <inheritdoc/>
    public override string ToString() =>
        IsNull ? "NetBufPtr(null)" : $"NetBufPtr(buffer {_index} at 0x{_buffer:x}, packet {PacketLength} bytes at +{Internal.RegionWord.PacketStart(_regions)})";

    /// <summary>Whether two pointers are equal.</summary>
    /// <param name="left">One pointer.</param>
    /// <param name="right">The other pointer.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public static bool operator ==(NetBufPtr left, NetBufPtr right) => left.Equals(right);

    /// <summary>Whether two pointers differ.</summary>
    /// <param name="left">One pointer.</param>
    /// <param name="right">The other pointer.</param>
    /// <returns><see langword="true"/> when they differ.</returns>
    public static bool operator !=(NetBufPtr left, NetBufPtr right) => !left.Equals(right);
}

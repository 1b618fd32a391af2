using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Internal;

namespace NetBufNative.Capture;

/// <summary>
/// Writes Ethernet frames to a stream in the classic libpcap file format with nanosecond
/// timestamps (magic 0xa1b23c4d, version 2.4, LINKTYPE_ETHERNET), which Wireshark and
/// <c>tcpdump -r</c> read. Frames are written straight from a span (a pool buffer's
/// <see cref="NetBuf.PacketWithHeader"/>, say): no per-frame allocation, the 16-byte record header
/// goes through one reused array.
/// </summary>
/// <remarks>
/// <para>
/// The file is little-endian whatever the machine (readers take either order from the magic). The
/// global header is written by the constructor. Frames longer than the snapshot length are cut
/// to it, the record keeping the original length, as libpcap does.
/// </para>
/// <para>
/// Thread-safe: writes from several threads (the workers of one driver, say) are serialized by a
/// lock, so every record is whole; their order is the order the lock was taken in.
/// <see cref="Dispose"/> flushes and, unless asked to leave it open, disposes the stream.
/// </para>
/// </remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The magic number of a pcap file with nanosecond timestamps.</summary>
    public const uint NanosecondMagic = 0xA1B23C4D;

    /// <summary>The link type written: LINKTYPE_ETHERNET (1), frames starting with the Ethernet header.</summary>
    public const uint LinkTypeEthernet = 1;

    /// <summary>The default and largest snapshot length: 262144, libpcap's MAXIMUM_SNAPLEN (larger files are rejected by readers).</summary>
    public const int MaxSnapLength = 262144;

    // The global header: magic, version 2.4, thiszone, sigfigs, snaplen, linktype (4+2+2+4+4+4+4).
    private const int FileHeaderLength = 24;

    // A record header: seconds, nanoseconds, captured length, original length.
    private const int RecordHeaderLength = 16;

    private const ushort VersionMajor = 2;
    private const ushort VersionMinor = 4;
    private const long NanosecondsPerSecond = 1_000_000_000;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _recordHeader = new byte[RecordHeaderLength];
    private readonly Lock _lock = new();

    // The clock: the wall time at creation plus the monotonic time since, so timestamps never go back.
    private readonly long _startUnixNanoseconds;
    private readonly long _startTimestamp;

    private long _framesWritten;
    private bool _disposed;

    /// <summary>Set when a write failed part-way: a record header may be in the stream without its frame,
    /// and every record after it would be misread, so the writer refuses to write more.</summary>
    private bool _faulted;

    /// <summary>Starts a pcap file on <paramref name="stream"/>, writing its global header.</summary>
    /// <param name="stream">A writable stream, at the position the file starts.</param>
    /// <param name="snapLength">The most bytes of a frame to keep: 1..<see cref="MaxSnapLength"/>.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves the stream open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> is not writable.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="snapLength"/> is outside 1..<see cref="MaxSnapLength"/>.</exception>
    /// <exception cref="IOException">The stream failed to write the header.</exception>
    public PcapWriter(Stream stream, int snapLength = MaxSnapLength, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            ThrowHelper.ThrowArgument(nameof(stream), "The stream is not writable.");
        }

        if (snapLength is < 1 or > MaxSnapLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(snapLength), snapLength, $"The snapshot length must be 1..{MaxSnapLength} (libpcap's largest).");
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
        SnapLength = snapLength;
        _startUnixNanoseconds = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * (NanosecondsPerSecond / TimeSpan.TicksPerSecond);
        _startTimestamp = Stopwatch.GetTimestamp();

        Span<byte> header = stackalloc byte[FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, NanosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], VersionMinor);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0); // thiszone: timestamps are UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs: always 0 in practice
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeEthernet);
        _stream.Write(header);
    }

    /// <summary>The snapshot length: the most bytes of a frame kept.</summary>
    public int SnapLength { get; }

    /// <summary>How many frames were written.</summary>
    public long FramesWritten => Interlocked.Read(ref _framesWritten);

    /// <summary>Writes a frame stamped with the current time (nanoseconds from a monotonic clock anchored to the wall clock at creation).</summary>
    /// <param name="frame">The frame from its Ethernet header, without the frame check sequence.</param>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="IOException">The stream failed.</exception>
    public void WriteFrame(ReadOnlySpan<byte> frame) => WriteFrame(frame, CurrentUnixNanoseconds());

    /// <summary>Writes a frame stamped with <paramref name="unixTimeNanoseconds"/>.</summary>
    /// <param name="frame">The frame from its Ethernet header, without the frame check sequence.</param>
    /// <param name="unixTimeNanoseconds">The capture time in nanoseconds since 1970-01-01 UTC; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="unixTimeNanoseconds"/> is negative or past what 32-bit seconds hold (2106).</exception>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="IOException">The stream failed (the writer then refuses further frames: the file may end in a partial record).</exception>
    /// <exception cref="InvalidOperationException">An earlier write failed part-way.</exception>
    public void WriteFrame(ReadOnlySpan<byte> frame, long unixTimeNanoseconds)
    {
        long seconds = unixTimeNanoseconds / NanosecondsPerSecond;
        if (unixTimeNanoseconds < 0 || seconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                nameof(unixTimeNanoseconds), unixTimeNanoseconds, "A pcap timestamp is 0 up to 2^32 seconds after 1970 (the seconds field is 32 bits).");
        }

        int captured = Math.Min(frame.Length, SnapLength);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_faulted)
            {
                throw new InvalidOperationException(
                    "An earlier write to this pcap stream failed part-way; the file ends at the last whole record. Start a new file.");
            }

            Span<byte> header = _recordHeader;
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)seconds);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(unixTimeNanoseconds % NanosecondsPerSecond));
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], captured);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], frame.Length);
            try
            {
                _stream.Write(header);
                _stream.Write(frame[..captured]);
            }
            catch
            {
                _faulted = true;
                throw;
            }

            _framesWritten++;
        }
    }

    /// <summary>Flushes the stream.</summary>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="IOException">The stream failed.</exception>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush();
        }
    }

    /// <summary>Flushes, and disposes the stream unless the writer was created to leave it open. A second call does nothing.</summary>
    /// <exception cref="IOException">The final flush failed (the stream is disposed all the same).</exception>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                _stream.Flush();
            }
            finally
            {
                if (!_leaveOpen)
                {
                    _stream.Dispose();
                }
            }
        }
    }

    private long CurrentUnixNanoseconds()
    {
        // Whole seconds and the remainder apart, so that ticks times 10^9 cannot overflow.
        long elapsed = Stopwatch.GetTimestamp() - _startTimestamp;
        long frequency = Stopwatch.Frequency;
        return _startUnixNanoseconds + ((elapsed / frequency) * NanosecondsPerSecond) + ((elapsed % frequency) * NanosecondsPerSecond / frequency);
    }
}

using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using NetBufNative.Wire;

namespace NetBufNative.Bench;

/// <summary>
/// What the drivers pay per received frame for checksum offloads: completing a partial TCP checksum from the kernel's
/// csum_start/csum_offset (AF_PACKET), checking and completing one by parsing (AF_XDP copy mode, every TCP/UDP frame is
/// checked), and cutting a 64 KiB TCP super-packet into 1448-byte segments (45 frames, headers fixed and checksummed,
/// payload copied).
/// </summary>
[MemoryDiagnoser]
public class ChecksumOffloadBenchmarks
{
    /// <summary>The TCP frame's length: a small segment and a full 1500-byte MTU one (Ethernet header included).</summary>
    [Params(66, 1514)]
    public int FrameLength { get; set; }

    private const int Ethernet = 14;
    private const int Transport = Ethernet + 20;
    private const int TcpChecksum = Transport + 16;
    private const int SegmentSize = 1448;

    private byte[] _frame = null!;
    private ushort _partial;
    private byte[] _super = null!;
    private byte[] _segment = null!;
    private TransportSegmenter.Headers _headers;

    [GlobalSetup]
    public void Setup()
    {
        _frame = TcpFrame(FrameLength - Transport - 32);
        _ = TransportChecksum.TryFill(_frame);
        ushort valid = BinaryPrimitives.ReadUInt16BigEndian(_frame.AsSpan(TcpChecksum));

        // The pseudo-header's sum, as a Linux sender leaves it: completing a frame whose field holds it gives the valid one.
        for (int candidate = 0; candidate <= ushort.MaxValue; candidate++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(TcpChecksum), (ushort)candidate);
            if (TransportChecksum.Check(_frame) == TransportChecksumStatus.Partial)
            {
                _partial = (ushort)candidate;
                break;
            }
        }

        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(TcpChecksum), valid);
        _super = TcpFrame(45 * SegmentSize);
        _ = TransportSegmenter.TryReadHeaders(_super.AsSpan(0, 128), Transport, false, IpProtocol.Tcp, out _headers);
        _segment = new byte[_headers.Length + SegmentSize];
    }

    /// <summary>AF_PACKET's path: the kernel said where the sum starts.</summary>
    [Benchmark(Baseline = true)]
    public bool CompletePartialFromKernelOffsets()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(TcpChecksum), _partial);
        return TransportChecksum.TryCompletePartial(_frame, Transport, 16);
    }

    /// <summary>AF_XDP's path for a partial frame: parse, verify (fails), compare with the pseudo-header's sum, fill.</summary>
    [Benchmark]
    public bool CompleteIfPartialByParsing()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(TcpChecksum), _partial);
        return TransportChecksum.TryCompleteIfPartial(_frame);
    }

    /// <summary>AF_XDP's path for a frame that is fine: parse and verify.</summary>
    [Benchmark]
    public TransportChecksumStatus CheckValid() => TransportChecksum.Check(_frame);

    /// <summary>One 64 KiB super-packet cut into 45 segments (the cost per super-packet; divide by 45 per frame).</summary>
    [Benchmark]
    public int SegmentSuperPacket()
    {
        int header = _headers.Length;
        for (int i = 0; i < 45; i++)
        {
            _super.AsSpan(0, header).CopyTo(_segment);
            _super.AsSpan(header + (i * SegmentSize), SegmentSize).CopyTo(_segment.AsSpan(header));
            TransportSegmenter.Fix(_segment, _headers, i, SegmentSize, last: i == 44);
        }

        return _segment[^1];
    }

    private static byte[] TcpFrame(int payload)
    {
        var frame = new byte[Transport + 32 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        frame[Ethernet] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(Ethernet + 2), (ushort)Math.Min(frame.Length - Ethernet, ushort.MaxValue));
        frame[Ethernet + 8] = 64;
        frame[Ethernet + 9] = 6;
        new byte[] { 10, 0, 0, 1, 10, 0, 0, 2 }.CopyTo(frame, Ethernet + 12);
        frame[Transport + 12] = 8 << 4;
        frame[Transport + 13] = 0x10;
        new Random(1).NextBytes(frame.AsSpan(Transport + 32));
        return frame;
    }
}

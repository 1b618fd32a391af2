using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// Times ICMP echo round trips one at a time: a raw ICMP socket opened inside a host's namespace sends a request to one
/// address (the kernel builds the IPv4 header and resolves the target), waits for its reply (100 ms at most: far above
/// any round trip here, so a wait that long is a lost request) and records the time from send to reply.
/// </summary>
internal sealed class EchoTimer : IDisposable
{
    /// <summary>A request is counted lost after 100 ms without its reply.</summary>
    private const int ReceiveTimeoutMilliseconds = 100;

    /// <summary>The request's ICMP data: 56 bytes, ping's default (a 98-byte frame).</summary>
    private const int DataLength = 56;

    private readonly Socket _socket;
    private readonly byte[] _request = new byte[8 + DataLength];
    private readonly byte[] _reply = new byte[2048];
    private readonly ushort _identifier;
    private ushort _sequence;

    /// <summary>Opens the socket in <paramref name="ns"/>, aimed at <paramref name="target"/>.</summary>
    public EchoTimer(string ns, IPAddress target, ushort identifier)
    {
        _socket = NamespaceThread.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp));
        _socket.Connect(new IPEndPoint(target, 0));
        _socket.ReceiveTimeout = ReceiveTimeoutMilliseconds;
        _identifier = identifier;
        _request[0] = (byte)IcmpV4Type.EchoRequest;
        BinaryPrimitives.WriteUInt16BigEndian(_request.AsSpan(4), identifier);
        for (int i = 8; i < _request.Length; i++)
        {
            _request[i] = (byte)i;
        }
    }

    /// <summary>Sends one request and waits for its reply; returns the round trip in <see cref="Stopwatch"/> ticks, or -1 when it was lost.</summary>
    public long RoundTrip()
    {
        ushort sequence = _sequence++;
        Span<byte> request = _request;
        BinaryPrimitives.WriteUInt16BigEndian(request[6..], sequence);
        request[2] = request[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(request[2..], InternetChecksum.Compute(request));
        long start = Stopwatch.GetTimestamp();
        _ = _socket.Send(_request);
        while (true)
        {
            int length;
            try
            {
                length = _socket.Receive(_reply);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return -1;
            }

            long end = Stopwatch.GetTimestamp();
            int header = (_reply[0] & 0xF) * 4;
            if (length >= header + 8 && _reply[header] == (byte)IcmpV4Type.EchoReply &&
                BinaryPrimitives.ReadUInt16BigEndian(_reply.AsSpan(header + 4)) == _identifier &&
                BinaryPrimitives.ReadUInt16BigEndian(_reply.AsSpan(header + 6)) == sequence)
            {
                return end - start;
            }

            if (Stopwatch.GetElapsedTime(start).TotalMilliseconds > ReceiveTimeoutMilliseconds)
            {
                return -1;
            }
        }
    }

    public void Dispose() => _socket.Dispose();
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The kernel-side pinger: a raw ICMP socket opened inside a benchmark namespace that keeps a window
/// of echo requests in flight to one address (the kernel builds the IPv4 header, resolves the target
/// by ARP and routes the request), sending one more for every reply. Bounded in time; when replies
/// stop for 100 ms (lost requests) it sends a new window, so the count of requests sent is bounded too.
/// </summary>
internal sealed class Pinger : IDisposable
{
    /// <summary>How long a receive waits before the window is sent again (requests lost): far above a reply's round trip.</summary>
    private const int ReceiveTimeoutMilliseconds = 100;

    private readonly Socket _socket;
    private readonly byte[] _request;
    private readonly ushort _identifier;
    private long _replies;
    private long _sent;

    /// <summary>Opens the socket in <paramref name="ns"/>, from <paramref name="source"/> when given, for requests to <paramref name="target"/>.</summary>
    /// <param name="ns">The namespace.</param>
    /// <param name="target">Where the requests go.</param>
    /// <param name="source">A local address to send from, or null for the route's.</param>
    /// <param name="frameLength">The Ethernet frame length of a request: 14 + 20 + 8 + data.</param>
    /// <param name="identifier">The echo identifier, telling this pinger's replies from others'.</param>
    public Pinger(string ns, IPAddress target, IPAddress? source, int frameLength, ushort identifier)
    {
        _socket = NamespaceThread.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp));
        if (source is not null)
        {
            _socket.Bind(new IPEndPoint(source, 0));
        }

        _socket.Connect(new IPEndPoint(target, 0));
        _socket.ReceiveTimeout = ReceiveTimeoutMilliseconds;
        _identifier = identifier;
        _request = new byte[frameLength - 14 - 20];
        _request[0] = (byte)IcmpV4Type.EchoRequest;
        BinaryPrimitives.WriteUInt16BigEndian(_request.AsSpan(4), identifier);
        for (int i = 8; i < _request.Length; i++)
        {
            _request[i] = (byte)i;
        }
    }

    /// <summary>Echo requests the socket took so far; readable from any thread.</summary>
    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Echo replies received so far; readable from any thread.</summary>
    public long Replies => Volatile.Read(ref _replies);

    /// <summary>Keeps <paramref name="inFlight"/> requests in flight for <paramref name="duration"/> (or until cancelled); returns the replies.</summary>
    public long Run(TimeSpan duration, int inFlight, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[65536];
        ushort sequence = 0;
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        SendWindow(inFlight, ref sequence);
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = _socket.Receive(buffer);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                SendWindow(inFlight, ref sequence);
                continue;
            }

            int headerLength = (buffer[0] & 0xF) * 4;
            if (length >= headerLength + 8 && buffer[headerLength] == (byte)IcmpV4Type.EchoReply &&
                BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 4)) == _identifier)
            {
                Volatile.Write(ref _replies, _replies + 1);
                Send(ref sequence);
            }
        }

        return Replies;
    }

    public void Dispose() => _socket.Dispose();

    private void SendWindow(int count, ref ushort sequence)
    {
        for (int i = 0; i < count; i++)
        {
            Send(ref sequence);
        }
    }

    private void Send(ref ushort sequence)
    {
        Span<byte> request = _request;
        BinaryPrimitives.WriteUInt16BigEndian(request[6..], sequence++);
        request[2] = request[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(request[2..], InternetChecksum.Compute(request));
        try
        {
            _ = _socket.Send(request);
            Volatile.Write(ref _sent, _sent + 1);
        }
        catch (SocketException exception) when (exception.SocketErrorCode is SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock or SocketError.HostUnreachable)
        {
            // The socket's or the neighbour queue's room is full (or the target is not resolved yet): the request is lost, the window resent later.
        }
    }
}

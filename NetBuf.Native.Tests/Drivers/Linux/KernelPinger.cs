using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The kernel's side of a ping: a raw ICMP socket opened inside a test's namespace (so the kernel
/// there builds the IPv4 header, resolves the target by ARP and routes the request out of its
/// interface). Sends echo requests with a chosen identifier, sequence and data, and returns the
/// echo replies the kernel delivers back, IPv4 header included.
/// </summary>
internal sealed class KernelPinger : IDisposable
{
    private readonly Socket _socket;

    /// <summary>Opens the socket inside <paramref name="ns"/>, bound to <paramref name="source"/> when given (a secondary address of the kernel, say).</summary>
    internal KernelPinger(TestNamespace ns, IPAddress? source = null)
    {
        _socket = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp));
        if (source is not null)
        {
            _socket.Bind(new IPEndPoint(source, 0));
        }
    }

    /// <summary>Sends an echo request to <paramref name="target"/> whose data is <paramref name="dataLength"/> bytes of a pattern from the sequence.</summary>
    internal void Send(IPAddress target, ushort identifier, ushort sequence, int dataLength)
    {
        byte[] message = new byte[8 + dataLength];
        message[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), sequence);
        for (int i = 0; i < dataLength; i++)
        {
            message[8 + i] = Data(sequence, i);
        }

        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), TestFrames.Checksum(message));
        _ = _socket.SendTo(message, new IPEndPoint(target, 0));
    }

    /// <summary>Waits for the echo reply with this identifier and sequence (others are skipped); returns its IPv4 packet.</summary>
    internal byte[] Receive(ushort identifier, ushort sequence, TimeSpan timeout)
    {
        byte[] buffer = new byte[65536];
        DateTime end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (!_socket.Poll(end - DateTime.UtcNow, SelectMode.SelectRead))
            {
                break;
            }

            int length = _socket.Receive(buffer);
            int headerLength = (buffer[0] & 0xF) * 4;
            if (length >= headerLength + 8 && buffer[9] == 1 && buffer[headerLength] == 0 &&
                BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 4)) == identifier &&
                BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 6)) == sequence)
            {
                return buffer[..length];
            }
        }

        Assert.Fail($"no echo reply id {identifier} seq {sequence} within {timeout.TotalSeconds} s");
        return [];
    }

    /// <summary>Checks an echo reply as the kernel delivered it: IPv4 header and its checksum, addresses, ICMP checksum, identifiers, data.</summary>
    internal static void CheckReply(byte[] packet, IPAddress from, IPAddress to, ushort identifier, ushort sequence, int dataLength)
    {
        Assert.That(packet[0] >> 4, Is.EqualTo(4), "IPv4");
        int headerLength = (packet[0] & 0xF) * 4;
        Assert.That(headerLength, Is.EqualTo(20), "no options");
        Assert.That(packet.Length, Is.EqualTo(20 + 8 + dataLength), "as long as the request");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)), Is.EqualTo(packet.Length), "IPv4 total length");
        Assert.That(TestFrames.Checksum(packet.AsSpan(0, 20)), Is.Zero, "IPv4 header checksum");
        Assert.That(packet[8], Is.EqualTo(64), "TTL of the reply");
        Assert.That(packet[9], Is.EqualTo(1), "ICMP");
        Assert.That(new IPAddress(packet.AsSpan(12, 4)), Is.EqualTo(from), "IPv4 source");
        Assert.That(new IPAddress(packet.AsSpan(16, 4)), Is.EqualTo(to), "IPv4 destination");
        ReadOnlySpan<byte> icmp = packet.AsSpan(20);
        Assert.That(icmp[0], Is.Zero, "echo reply");
        Assert.That(icmp[1], Is.Zero, "code 0");
        Assert.That(TestFrames.Checksum(icmp), Is.Zero, "ICMP checksum");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]), Is.EqualTo(identifier), "identifier");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]), Is.EqualTo(sequence), "sequence");
        for (int i = 0; i < dataLength; i++)
        {
            if (icmp[8 + i] != Data(sequence, i))
            {
                Assert.Fail($"echoed data differs at byte {i}");
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    // The pattern TestFrames.CheckEchoReply expects of echoed data.
    private static byte Data(ushort sequence, int i) => (byte)(sequence + i);
}

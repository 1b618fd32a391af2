using System.Buffers.Binary;
using NetBufNative.Drivers;
using NetBufNative.Processing;

namespace NetBufNative.Apps;

/// <summary>
/// A reflector for a <see cref="PacketLoop"/>: every frame goes back out of the port it came in on, with its destination
/// and source hardware addresses swapped and nothing else changed (DPDK testpmd's <c>macswap</c> mode). The sender gets
/// its own frames back, addressed to itself: a load generator's far end.
/// </summary>
/// <remarks>Stateless; one instance may serve several loops. Rewrites 12 bytes in place per frame and allocates nothing.
/// A frame shorter than an Ethernet header (which the drivers drop already) is dropped.</remarks>
public sealed class MacSwapReflector : IPacketHandler
{
    /// <summary>Makes a loop that reflects every frame of <paramref name="port"/>.</summary>
    /// <param name="port">The driver.</param>
    /// <param name="options">How the loop runs; the defaults when <see langword="null"/>.</param>
    /// <returns>The loop, not yet running.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="port"/> is null.</exception>
    public static PacketLoop CreateLoop(INetDriver port, PacketLoopOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(port);
        return new PacketLoop([port], new MacSwapReflector(), options);
    }

    /// <summary>Swaps a frame's destination (bytes 0-5) and source (bytes 6-11) hardware addresses in place.</summary>
    /// <param name="frame">The frame, from its Ethernet header on.</param>
    /// <returns><see langword="false"/> (and nothing changed) when it is shorter than the two addresses.</returns>
    public static bool TrySwapAddresses(Span<byte> frame)
    {
        if (frame.Length < 12)
        {
            return false;
        }

        // Two 48-bit fields as a 64-bit and a 32-bit read: bytes 0-7 and 8-11, big-endian so the shifts line up with
        // the wire order. destination = bytes 0-5, source = bytes 6-11.
        ulong head = BinaryPrimitives.ReadUInt64BigEndian(frame);
        uint tail = BinaryPrimitives.ReadUInt32BigEndian(frame[8..]);
        ulong destination = head >> 16;
        ulong source = ((head & 0xFFFF) << 32) | tail;
        BinaryPrimitives.WriteUInt64BigEndian(frame, (source << 16) | (destination >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(frame[8..], (uint)destination);
        return true;
    }

    /// <inheritdoc/>
    public void OnReceived(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int port = batch.Port;
        for (int i = 0; i < batch.Count; i++)
        {
            if (TrySwapAddresses(batch.Frame(i)))
            {
                batch.Transmit(i, port);
            }
        }
    }
}

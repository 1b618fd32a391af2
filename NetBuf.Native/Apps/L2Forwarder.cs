using NetBufNative.Drivers;
using NetBufNative.Processing;

namespace NetBufNative.Apps;

/// <summary>
/// A two-port layer-2 forwarder for a <see cref="PacketLoop"/>: every frame received on one port leaves unchanged on the
/// other, from the buffer it arrived in (DPDK testpmd's <c>io</c> mode; l2fwd without its address rewrite). Between two
/// interfaces it is a transparent bridge: the hosts on either side see each other as on one cable (ARP, IPv4, anything).
/// With more ports they are paired: 0 with 1, 2 with 3, and so on.
/// </summary>
/// <remarks>Stateless; one instance may serve several loops. Copies nothing and allocates nothing per frame.</remarks>
public sealed class L2Forwarder : IPacketHandler
{
    /// <summary>Makes a loop that bridges <paramref name="first"/> and <paramref name="second"/> (two drivers over one pool).</summary>
    /// <param name="first">Port 0.</param>
    /// <param name="second">Port 1.</param>
    /// <param name="options">How the loop runs; the defaults when <see langword="null"/>.</param>
    /// <returns>The loop, not yet running (<see cref="PacketLoop.Run"/> or <see cref="PacketLoop.Start"/>).</returns>
    /// <exception cref="ArgumentNullException">A driver is null.</exception>
    /// <exception cref="ArgumentException">The drivers are one driver, or over different pools.</exception>
    public static PacketLoop CreateLoop(INetDriver first, INetDriver second, PacketLoopOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return new PacketLoop([first, second], new L2Forwarder(), options);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The port has no partner (an odd number of ports, and this is the last).</exception>
    public void OnReceived(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.TransmitAll(batch.Port ^ 1);
    }
}

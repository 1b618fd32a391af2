using System.Diagnostics.CodeAnalysis;

namespace NetBufNative.Drivers.Linux;

/// <summary>The argument checks and buffer handling every Linux driver shares.</summary>
internal static class FrameChecks
{
    /// <summary>Validates a driver's queue size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not between 1 and 65536 (a large NIC ring).</exception>
    internal static void QueueSize(int size, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 1 << 16, name);
    }

    /// <summary>Validates an interface name the way the kernel does (<c>dev_valid_name</c>): 1 to 15 ASCII bytes, not <c>.</c> or <c>..</c>, no <c>/</c>, <c>:</c> or white space.</summary>
    /// <exception cref="NetDriverException">The name is not valid (InvalidParam).</exception>
    internal static void InterfaceName(string name)
    {
        bool valid = name.Length is > 0 and <= LinuxConstants.MaxInterfaceNameLength && name is not "." and not "..";
        foreach (char c in name)
        {
            valid &= c is > ' ' and < (char)0x7F and not '/' and not ':';
        }

        if (!valid)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"'{name}' is not an interface name: 1 to {LinuxConstants.MaxInterfaceNameLength} printable ASCII characters, without '/', ':' or spaces.");
        }
    }

    /// <summary>How a driver names itself as a holder of its pool's buffers (<see cref="NetDriver.ReservePoolBuffers"/>).</summary>
    internal static string Owner(string kind, string device, string? networkNamespace) =>
        networkNamespace is null ? $"the {kind} driver of {device}" : $"the {kind} driver of {device} in namespace {networkNamespace}";

    /// <summary>Throws unless <paramref name="buffer"/> is lent by <paramref name="pool"/> now.</summary>
    /// <exception cref="NetDriverException">It is not (InvalidParam); nothing was taken.</exception>
    internal static void Ownership(NetBufPool pool, NetBufPtr buffer, string deviceName)
    {
        if (!pool.IsLent(buffer))
        {
            ThrowNotOurs(pool, buffer, deviceName);
        }
    }

    /// <summary>Throws unless the frame in <paramref name="buffer"/> (header and packet) is a whole Ethernet frame that fits the device.</summary>
    /// <exception cref="NetDriverException">It does not (InvalidParam); nothing was taken.</exception>
    internal static void TransmitLength(NetBufPtr buffer, int maxFrameLength, string deviceName)
    {
        int length = buffer.HeaderLength + buffer.PacketLength;

        // The kernel lets only an 802.1Q/802.1ad-tagged frame carry the tag's 4 bytes beyond the
        // MTU and the header: an untagged frame that long is refused with EMSGSIZE (after frames
        // before it in a batch were sent), so it is refused here, before anything is taken.
        int limit = length >= LinuxConstants.EthernetHeaderLength && IsVlanTagged(buffer)
            ? maxFrameLength
            : maxFrameLength - LinuxConstants.VlanTagLength;
        if (length < LinuxConstants.EthernetHeaderLength || length > limit)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"A frame of {length} bytes cannot be sent on {deviceName}: a frame is {LinuxConstants.EthernetHeaderLength} (an Ethernet header) to {limit} bytes (the MTU and the header, plus 4 for a VLAN-tagged frame); nothing was taken.");
        }
    }

    /// <summary>Allocates a lent buffer whose packet region is <paramref name="size"/> bytes after the pool's headroom.</summary>
    /// <exception cref="NetDriverException">The size does not fit (InvalidParam) or no buffer is free (NoMemory).</exception>
    internal static NetBufPtr AllocTx(NetBufPool pool, int size)
    {
        int room = pool.BufferLength - pool.DefaultHeadroom;
        if ((uint)size > (uint)room)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"A frame of {size} bytes does not fit a buffer of {pool.Name} ({room} bytes after its headroom of {pool.DefaultHeadroom}).");
        }

        if (!pool.TryAlloc(out NetBuf buffer))
        {
            throw new NetDriverException(NetDriverErrorKind.NoMemory, $"{pool.Name} has no free buffer for a frame to transmit.");
        }

        buffer.SetPacketLength(size);
        return buffer.IntoBufPtr();
    }

    /// <summary>Takes back a posted buffer into which <paramref name="length"/> bytes were received after the headroom, and lends it again with the frame as its packet.</summary>
    internal static NetBufPtr Received(NetBufPool pool, NetBufPtr posted, int length) =>
        pool.FromBufPtr(posted, pool.DefaultHeadroom, length).IntoBufPtr();

    [DoesNotReturn]
    private static void ThrowNotOurs(NetBufPool pool, NetBufPtr buffer, string deviceName) =>
        throw new NetDriverException(
            NetDriverErrorKind.InvalidParam,
            $"{buffer} is not a buffer lent by {pool.Name}, the pool of {deviceName} (null, of another pool, restored already or stale); nothing was taken.");

    /// <summary>Whether a frame's EtherType is an 802.1Q (0x8100) or 802.1ad (0x88A8) tag; the caller checked it has a header.</summary>
    private static bool IsVlanTagged(NetBufPtr buffer)
    {
        ReadOnlySpan<byte> frame = buffer.PacketWithHeader;
        int etherType = (frame[12] << 8) | frame[13];
        return etherType is 0x8100 or 0x88A8;
    }
}

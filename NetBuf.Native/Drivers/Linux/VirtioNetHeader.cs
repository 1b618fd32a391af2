using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// <c>struct virtio_net_hdr</c> (linux/virtio_net.h, 10 bytes, little-endian on a packet socket of a little-endian
/// host): what an AF_PACKET socket with <c>PACKET_VNET_HDR</c> puts before each received frame (and expects before each
/// sent one): whether the frame's TCP/UDP checksum is partial and where it lies, and whether the frame is a GSO
/// super-packet and its segment size.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 10)]
internal struct VirtioNetHeader
{
    /// <summary>The structure's size.</summary>
    public const int Size = 10;

    /// <summary><c>VIRTIO_NET_HDR_F_NEEDS_CSUM</c>: the checksum at <see cref="ChecksumStart"/> + <see cref="ChecksumOffset"/> is partial.</summary>
    public const byte NeedsChecksum = 1;

    /// <summary><c>VIRTIO_NET_HDR_GSO_NONE</c>.</summary>
    public const byte GsoNone = 0;

    /// <summary><c>VIRTIO_NET_HDR_GSO_TCPV4</c>.</summary>
    public const byte GsoTcpV4 = 1;

    /// <summary><c>VIRTIO_NET_HDR_GSO_UDP</c>: UDP fragmentation offload (UFO), which cuts IP fragments.</summary>
    public const byte GsoUdp = 3;

    /// <summary><c>VIRTIO_NET_HDR_GSO_TCPV6</c>.</summary>
    public const byte GsoTcpV6 = 4;

    /// <summary><c>VIRTIO_NET_HDR_GSO_UDP_L4</c>: UDP segmentation (USO), datagrams of <see cref="GsoSize"/> each.</summary>
    public const byte GsoUdpL4 = 5;

    /// <summary><c>VIRTIO_NET_HDR_GSO_ECN</c>: a flag on the type (the TCP flow uses ECN).</summary>
    public const byte GsoEcn = 0x80;

    /// <summary><c>flags</c>.</summary>
    [FieldOffset(0)]
    public byte Flags;

    /// <summary><c>gso_type</c>.</summary>
    [FieldOffset(1)]
    public byte GsoType;

    /// <summary><c>hdr_len</c>: the length of the skb's linear part (not to be trusted as the headers' length).</summary>
    [FieldOffset(2)]
    public ushort HeaderLength;

    /// <summary><c>gso_size</c>: each segment's payload.</summary>
    [FieldOffset(4)]
    public ushort GsoSize;

    /// <summary><c>csum_start</c>: where the checksummed bytes start, from the frame's first byte.</summary>
    [FieldOffset(6)]
    public ushort ChecksumStart;

    /// <summary><c>csum_offset</c>: where the checksum field is, from <see cref="ChecksumStart"/>.</summary>
    [FieldOffset(8)]
    public ushort ChecksumOffset;
}

using System.Numerics;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The transmit ring of an AF_PACKET socket (<c>PACKET_TX_RING</c>, <c>TPACKET_V2</c>), as DPDK's net_af_packet uses it:
/// slots shared with the kernel, each a <c>tpacket2_hdr</c> and, 32 bytes after the slot's start
/// (<see cref="DataOffset"/>), the virtio-net header and the frame. The driver copies a frame into the next slot whose
/// status is <see cref="LinuxConstants.TP_STATUS_AVAILABLE"/> and publishes it (<see cref="LinuxConstants.TP_STATUS_SEND_REQUEST"/>,
/// a release store); a <c>send(fd, NULL, 0, MSG_DONTWAIT)</c> then makes the kernel's <c>tpacket_snd</c> send the
/// requested slots from its own head, in ring order, and the slot comes back (available again) once the kernel freed
/// the frame it built over it.
/// </summary>
/// <remarks>
/// <para>
/// The kernel looks at requested slots only inside a send on the socket (<c>tpacket_snd</c> under the ring's lock), which
/// only the driver's thread makes: between two sends, the requested slots and a refused one are the driver's to rewrite.
/// The kernel's head is the oldest slot it has not taken: it stops at a slot it could not take now (the send buffer full:
/// it stays requested) or refused (<see cref="LinuxConstants.TP_STATUS_WRONG_FORMAT"/>; without <c>PACKET_LOSS</c> its head
/// then stays there, so the slot must be given back before anything after it can go). So the slots after the last taken
/// one are a contiguous run ending just before <see cref="_head"/>: <see cref="Reclaim"/> walks it back.
/// </para>
/// <para>Thread safety: the driver's thread only; <see cref="AfPacketDriver"/> unmaps the slots after the last call left.</para>
/// </remarks>
internal sealed unsafe class PacketTransmitRing
{
    /// <summary>Where the frame data (here the virtio-net header, then the frame) starts in a slot: <c>TPACKET2_HDRLEN -
    /// sizeof(struct sockaddr_ll)</c> = 52 - 20 = 32, the offset <c>tpacket_parse_header</c> uses without <c>PACKET_TX_HAS_OFF</c>.</summary>
    internal const int DataOffset = TPacket2Header.Size;

    /// <summary>The smallest block: one page of 4 KiB (the kernel wants whole pages).</summary>
    private const int MinBlockSize = 4096;

    /// <summary>The status flags the kernel may add to a sent slot's (timestamps): the slot is available with them too
    /// (DPDK masks them likewise; kernels before the fix of "only tx timestamp on request" set them unasked).</summary>
    private const uint TimestampFlags = LinuxConstants.TP_STATUS_TS_SOFTWARE | LinuxConstants.TP_STATUS_TS_RAW_HARDWARE;

    private readonly byte* _slots;
    private readonly int _slotSize;
    private readonly int _slotCount;
    private readonly int _room;
    private int _head;

    /// <summary>Wraps the slots the kernel mapped for the socket's ring of <paramref name="shape"/>.</summary>
    /// <param name="slots">The ring's first slot in the socket's mapping.</param>
    /// <param name="shape">The shape it was asked with (<see cref="Shape"/>).</param>
    internal PacketTransmitRing(byte* slots, TPacketRequest shape)
    {
        _slots = slots;
        _slotSize = (int)shape.FrameSize;
        _slotCount = (int)shape.FrameCount;
        _room = _slotSize - DataOffset - VirtioNetHeader.Size;
    }

    /// <summary>Slots in the ring.</summary>
    internal int SlotCount => _slotCount;

    /// <summary>Bytes of a slot.</summary>
    internal int SlotSize => _slotSize;

    /// <summary>Whether the last slot published is still requested: the kernel did not take everything yet (its send
    /// buffer was full), so another send is needed. Read after a send returned.</summary>
    internal bool HasUnsent => Volatile.Read(ref Header(Previous(_head))->Status) == LinuxConstants.TP_STATUS_SEND_REQUEST;

    /// <summary>The ring for frames of up to <paramref name="maxFrameLength"/> bytes: slots of a power of two that hold
    /// <see cref="DataOffset"/>, the virtio-net header and such a frame, at least <paramref name="slots"/> of them
    /// rounded up to whole blocks of at least a page.</summary>
    internal static TPacketRequest Shape(int maxFrameLength, int slots)
    {
        uint frameSize = BitOperations.RoundUpToPowerOf2((uint)(DataOffset + VirtioNetHeader.Size + maxFrameLength));
        uint blockSize = Math.Max(frameSize, MinBlockSize);
        uint perBlock = blockSize / frameSize;
        uint blocks = ((uint)slots + perBlock - 1) / perBlock;
        return new TPacketRequest { BlockSize = blockSize, BlockCount = blocks, FrameSize = frameSize, FrameCount = blocks * perBlock };
    }

    /// <summary>
    /// Copies <paramref name="frame"/> (its header and packet regions) after a zero virtio-net header into the next slot
    /// and requests it, or says the ring is full (the next slot is still the kernel's).
    /// </summary>
    /// <returns><see langword="false"/> when the next slot is not available: the frame was not taken.</returns>
    internal bool TryPut(NetBufPtr frame)
    {
        // Sound: _head indexes one of the _slotCount slots of the mapping (unmapped only after the driver's last call);
        // the acquire read orders the writes below after the kernel's last use of the slot (it sets the status last).
        byte* slot = _slots + ((nint)_head * _slotSize);
        TPacket2Header* header = (TPacket2Header*)slot;
        if ((Volatile.Read(ref header->Status) & ~TimestampFlags) != LinuxConstants.TP_STATUS_AVAILABLE)
        {
            return false;
        }

        // Sound: the frame lies in a buffer the core handed over to the driver and was checked against the device's
        // largest frame (MTU + header + a tag), which the slot holds after its data offset and the virtio-net header
        // (Shape); the copy is bounded by that room anyway.
        int length = frame.HeaderLength + frame.PacketLength;
        *(VirtioNetHeader*)(slot + DataOffset) = default;
        Buffer.MemoryCopy((void*)frame.HeaderAddress, slot + DataOffset + VirtioNetHeader.Size, _room, length);
        uint total = (uint)(VirtioNetHeader.Size + length);
        if (Internal.TestSwitches.Enabled && Internal.TestSwitches.TransmitRingMalformedFrames > 0)
        {
            // A length beyond the slot, put in by a test: tpacket_parse_header refuses it (EMSGSIZE).
            Internal.TestSwitches.TransmitRingMalformedFrames--;
            total = (uint)_slotSize;
        }

        header->Length = total;
        header->SnapLength = total;

        // Release: the frame and its length are written before the kernel may see the request.
        Volatile.Write(ref header->Status, LinuxConstants.TP_STATUS_SEND_REQUEST);
        _head = _head + 1 == _slotCount ? 0 : _head + 1;
        return true;
    }

    /// <summary>
    /// Gives back the slots the kernel has not taken after a send failed: the run of requested slots before the next one,
    /// and a refused slot at its start. Each becomes available again and the ring's next slot is the first of them, which
    /// is where the kernel's head stands, so the two agree again. Call only between sends (the kernel then leaves them alone).
    /// </summary>
    /// <returns>How many were given back (frames not sent), and how many of them the kernel refused
    /// (<see cref="LinuxConstants.TP_STATUS_WRONG_FORMAT"/>).</returns>
    internal (int Unsent, int Refused) Reclaim()
    {
        int unsent = 0;
        int refused = 0;
        int index = _head;
        while (unsent < _slotCount)
        {
            int previous = Previous(index);

            // Sound: previous indexes a slot of the mapping; between sends the kernel does not touch requested or refused slots.
            TPacket2Header* header = Header(previous);
            uint status = Volatile.Read(ref header->Status);
            if (status is not (LinuxConstants.TP_STATUS_SEND_REQUEST or LinuxConstants.TP_STATUS_WRONG_FORMAT))
            {
                break;
            }

            refused += status == LinuxConstants.TP_STATUS_WRONG_FORMAT ? 1 : 0;
            Volatile.Write(ref header->Status, LinuxConstants.TP_STATUS_AVAILABLE);
            unsent++;
            index = previous;
            if (status == LinuxConstants.TP_STATUS_WRONG_FORMAT)
            {
                // The kernel stops at a refused slot: the slots before it were taken.
                break;
            }
        }

        _head = index;
        return (unsent, refused);
    }

    private int Previous(int index) => index == 0 ? _slotCount - 1 : index - 1;

    private TPacket2Header* Header(int index) => (TPacket2Header*)(_slots + ((nint)index * _slotSize));
}

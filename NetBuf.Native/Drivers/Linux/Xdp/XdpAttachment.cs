using NetBufNative.Drivers.Linux.Bpf;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// The XDP program of an interface and what it needs: the XSKMAP that holds each queue's AF_XDP
/// socket at the queue's index, the program that redirects to it, and the BPF link that attaches the
/// program. Shared by every <see cref="XdpDriver"/> of the interface (one per queue, one UMEM) and
/// detached when the last of them lets go, so queues still served keep receiving.
/// </summary>
/// <remarks>Thread-safe: references are counted with interlocked operations; the descriptors are closed once.</remarks>
internal sealed class XdpAttachment
{
    /// <summary>
    /// XSKMAP slots when the first driver binds a queue below this: room for the queues of common
    /// NICs (an entry is 8 bytes). A driver on a higher queue makes the map that much larger.
    /// </summary>
    internal const int DefaultMapEntries = 64;

    private int _mapFd;
    private int _programFd;
    private int _linkFd;
    private int _references = 1;

    private XdpAttachment(int mapFd, uint mapEntries, XdpFilter filter, XdpAttachMode attachMode)
    {
        _mapFd = mapFd;
        _programFd = -1;
        _linkFd = -1;
        MapEntries = mapEntries;
        Filter = filter;
        AttachMode = attachMode;
        ProgramName = filter.Kind switch
        {
            XdpFilterKind.EtherType => "nb_xsk_ether",
            XdpFilterKind.IpProtocol => "nb_xsk_ipproto",
            XdpFilterKind.UdpDestinationPort => "nb_xsk_udp",
            _ => "nb_xsk_all",
        };
    }

    /// <summary>How many queue slots the map has: sockets on queues from 0 to this minus 1 can share the program.</summary>
    internal uint MapEntries { get; }

    internal XdpFilter Filter { get; }

    internal XdpAttachMode AttachMode { get; }

    internal string ProgramName { get; }

    /// <summary>
    /// Creates the map with <paramref name="socketFd"/> at <paramref name="queueId"/>, loads the program
    /// and attaches it to <paramref name="interfaceIndex"/> of the calling thread's namespace; one reference.
    /// </summary>
    /// <exception cref="NetDriverException">A step failed; whatever was made is closed again.</exception>
    internal static XdpAttachment Attach(int socketFd, int queueId, int interfaceIndex, XdpFilter filter, XdpAttachMode attachMode, string device)
    {
        uint entries = Math.Max((uint)queueId + 1, DefaultMapEntries);
        var attachment = new XdpAttachment(BpfCommands.CreateXskMap(entries, device), entries, filter, attachMode);
        try
        {
            BpfCommands.SetXskMapEntry(attachment._mapFd, (uint)queueId, socketFd, device);
            attachment._programFd = BpfCommands.LoadXdpProgram(XdpProgram.Build(filter, attachment._mapFd), attachment.ProgramName, device);
            uint flags = attachMode switch
            {
                XdpAttachMode.Generic => XdpConstants.XDP_FLAGS_SKB_MODE,
                XdpAttachMode.Native => XdpConstants.XDP_FLAGS_DRV_MODE,
                _ => 0,
            };
            attachment._linkFd = BpfCommands.CreateXdpLink(attachment._programFd, interfaceIndex, flags, device);
            return attachment;
        }
        catch
        {
            attachment.Release();
            throw;
        }
    }

    /// <summary>Takes a reference for a socket that joins, unless the last one was released already.</summary>
    internal bool TryAddReference()
    {
        int references = Volatile.Read(ref _references);
        while (references > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, references + 1, references);
            if (seen == references)
            {
                return true;
            }

            references = seen;
        }

        return false;
    }

    /// <summary>Puts <paramref name="socketFd"/> in the map at <paramref name="queueId"/> (call while holding a reference).</summary>
    /// <exception cref="NetDriverException">The queue has no slot (InvalidParam), or the kernel refused.</exception>
    internal void AddSocket(int socketFd, int queueId, string device)
    {
        if ((uint)queueId >= MapEntries)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"Queue {queueId} of {device} has no slot in the XSKMAP of the driver it shares with ({MapEntries} slots, queues 0 to {MapEntries - 1}): open the driver of the highest queue first, or do not share.");
        }

        BpfCommands.SetXskMapEntry(Volatile.Read(ref _mapFd), (uint)queueId, socketFd, device);
    }

    /// <summary>Drops a reference; the last one detaches the program (closing the link) and closes it and the map.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0)
        {
            return;
        }

        // The link first: closing its descriptor detaches the program from the interface at once.
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _linkFd, -1));
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _programFd, -1));
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _mapFd, -1));
    }
}

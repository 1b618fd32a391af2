using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The same ARP and ICMP echo responder written the way a .NET user writes it today without this
/// library: SharpPcap 6.3.1 (libpcap) to receive and send, PacketDotNet 1.4.8 to parse and build.
/// Received frames are copied into managed arrays and parsed into object graphs; replies are built
/// from those objects. For the drivers mode's comparison row.
/// </summary>
internal static class SharpPcapResponder
{
    // PacketDotNet's type-and-code word of an ICMPv4 message: type 8 code 0 (echo request), type 0 code 0 (echo reply).
    private const IcmpV4TypeCode EchoRequest = (IcmpV4TypeCode)0x0800;
    private const IcmpV4TypeCode EchoReply = (IcmpV4TypeCode)0x0000;

    /// <summary>
    /// Opens <paramref name="interfaceName"/> with libpcap (on the calling thread, which must be in the
    /// interface's namespace) and answers for <paramref name="address"/> as <paramref name="mac"/> until
    /// cancelled; <paramref name="onFrame"/> is told of every frame read.
    /// </summary>
    public static void Run(string interfaceName, IPAddress address, PhysicalAddress mac, Action onFrame, CancellationToken cancellationToken)
    {
        LibPcapLiveDeviceList devices = LibPcapLiveDeviceList.New();
        LibPcapLiveDevice device = devices.First(d => d.Name == interfaceName);

        // Immediate mode and a short read timeout: each frame is handed over as it arrives (libpcap's buffering would add latency).
        device.Open(new DeviceConfiguration { Mode = DeviceModes.Promiscuous, ReadTimeout = 100, Immediate = true });
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (device.GetNextPacket(out PacketCapture capture) != GetPacketStatus.PacketRead)
                {
                    continue;
                }

                onFrame();
                RawCapture raw = capture.GetPacket();
                if (Packet.ParsePacket(raw.LinkLayerType, raw.Data) is not EthernetPacket ethernet)
                {
                    continue;
                }

                if (ethernet.Extract<ArpPacket>() is ArpPacket arp)
                {
                    if (arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress.Equals(address))
                    {
                        var reply = new ArpPacket(ArpOperation.Response, arp.SenderHardwareAddress, arp.SenderProtocolAddress, mac, address);
                        device.SendPacket(new EthernetPacket(mac, ethernet.SourceHardwareAddress, EthernetType.Arp) { PayloadPacket = reply });
                    }

                    continue;
                }

                if (ethernet.Extract<IcmpV4Packet>() is IcmpV4Packet icmp && icmp.TypeCode == EchoRequest &&
                    ethernet.Extract<IPv4Packet>() is IPv4Packet ip && ip.DestinationAddress.Equals(address) && mac.Equals(ethernet.DestinationHardwareAddress))
                {
                    ip.DestinationAddress = ip.SourceAddress;
                    ip.SourceAddress = address;
                    ip.TimeToLive = 64;
                    icmp.TypeCode = EchoReply;
                    icmp.UpdateIcmpChecksum();
                    ip.UpdateIPChecksum();
                    ethernet.DestinationHardwareAddress = ethernet.SourceHardwareAddress;
                    ethernet.SourceHardwareAddress = mac;
                    device.SendPacket(ethernet);
                }
            }
        }
        finally
        {
            device.Close();
        }
    }
}

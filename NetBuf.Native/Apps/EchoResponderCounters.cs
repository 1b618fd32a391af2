using NetBufNative.Drivers;

namespace NetBufNative.Apps;

/// <summary>
/// What an <see cref="EchoResponderLoop"/> did with the frames it received: a snapshot of its counters.
/// Every received frame is counted in exactly one of <see cref="ArpReplies"/>, <see cref="EchoReplies"/>,
/// <see cref="Ignored"/> and <see cref="Malformed"/>; a reply is also counted in
/// <see cref="TransmitDropped"/> or <see cref="TransmitErrors"/> when the driver did not send it.
/// </summary>
/// <param name="Received">Frames taken from the driver.</param>
/// <param name="ArpReplies">ARP requests for the responder's address, answered.</param>
/// <param name="EchoReplies">ICMP echo requests to the responder's address, answered.</param>
/// <param name="Ignored">Well-formed frames that are not for the responder (other addresses, other protocols, replies, broadcasts, ...).</param>
/// <param name="Malformed">Frames that do not parse: shorter than an Ethernet header, or ARP or IPv4 whose header is truncated, lies about its length or (IPv4) fails its checksum.</param>
/// <param name="TransmitDropped">Replies the driver's transmit queue had no room for, even after recycling its sent buffers; their buffers went back to the pool.</param>
/// <param name="TransmitErrors">Replies the driver refused with an exception (nothing taken: a frame the device cannot send, or a device error); their buffers went back to the pool.</param>
/// <param name="DeviceErrors">Errors the driver reported that the loop went on after (a device set down, say): see <see cref="Processing.PacketPortCounters.LastError"/>.</param>
/// <remarks>An immutable value; taken while the loop runs, its fields are read one at a time, so they may be a few frames apart.</remarks>
public readonly record struct EchoResponderCounters(
    long Received,
    long ArpReplies,
    long EchoReplies,
    long Ignored,
    long Malformed,
    long TransmitDropped,
    long TransmitErrors,
    long DeviceErrors)
{
    /// <summary>Replies the driver took for transmission: answered ARP and echo requests, less those it did not send.</summary>
    public long Transmitted => ArpReplies + EchoReplies - TransmitDropped - TransmitErrors;
}

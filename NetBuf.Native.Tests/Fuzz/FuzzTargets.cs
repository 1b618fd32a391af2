using System.Buffers.Binary;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// The fuzz targets by name, shared by the AFL++ harness (NetBuf.Native.Fuzz) and the corpus replay
/// test, so that CI runs every committed input through exactly the checks the fuzzer ran. A target
/// catches none of the library's exceptions except the documented ones it expects: anything else
/// escapes and is a finding, and so is a <see cref="FuzzFindingException"/> or a fault.
/// </summary>
internal static class FuzzTargets
{
    /// <summary>Every target: its name (the harness's argument and the corpus folder) and its entry point.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["ethernet"] = input => WireTargets.Ethernet(input),
        ["arp"] = input => WireTargets.Arp(input),
        ["ipv4"] = input => WireTargets.Ipv4(input),
        ["icmp"] = input => WireTargets.Icmp(input),
        ["udp"] = input => WireTargets.Udp(input),
        ["checksum"] = input => WireTargets.Checksum(input),
        ["responder"] = input => WireTargets.Responder(input),
        ["loop"] = input => ResponderLoopTarget.Run(input),
        ["pointers"] = input => PointerTarget.Run(input),
    };

    /// <summary>Starting inputs for each target: real frames and pointer scripts that reach deep.</summary>
    /// <param name="target">The target's name.</param>
    /// <returns>Named seed inputs.</returns>
    public static IEnumerable<(string Name, byte[] Input)> Seeds(string target)
    {
        byte[] ping = Convert.FromHexString(PingRequest);
        byte[] arp = Convert.FromHexString(ArpRequest);
        byte[] vlanPing = Convert.FromHexString(VlanPingRequest);
        byte[] pingOptions = Convert.FromHexString(PingRequestWithOptions);
        switch (target)
        {
            case "ethernet":
            case "responder":
                yield return ("ping", ping);
                yield return ("arp", arp);
                yield return ("vlan-ping", vlanPing);
                yield return ("ping-options", pingOptions);
                break;
            case "arp":
                yield return ("arp", arp[14..]);
                break;
            case "ipv4":
                yield return ("ping", ping[14..]);
                yield return ("ping-options", pingOptions[14..]);
                break;
            case "icmp":
                yield return ("echo", ping[34..]);
                break;
            case "udp":
                byte[] udp = Convert.FromHexString("0a0000020a000001" + "303904d2000c0000" + "74657374");
                yield return ("datagram", udp);
                break;
            case "checksum":
                yield return ("ip-header", [0, 0, 0, 0, 0x08, 0x00, 0x00, 0x00, .. ping[14..34]]);
                yield return ("echo", [0, 0, 0, 0, 0x08, 0x00, 0x00, 0x00, .. ping[34..]]);
                break;
            case "loop":
                yield return ("mixed", [4, 3, .. Framed(arp), .. Framed(ping), .. Framed(vlanPing), 1, .. Framed(pingOptions)]);
                break;
            case "pointers":
                // Alloc, bulk alloc, restore a current one, free a batch, restore a stale one, forge an index.
                yield return ("script", [0, 0, 1, 0, 0, 1, 2, 2, 0, 0, 0, 0, 6, 2, 0, 0, 0, 3, 1, 0, 0, 2, 0, 0, 7, 3, 0, 5, 0, 0, 4]);
                yield return ("frame", [1, 0, 0, 10, 0, 20, 4, 0, 0, 0, 0, 64, 0, 100, 3, 0, 0, 0, 0]);
                break;
            default:
                throw new ArgumentException($"unknown target {target}", nameof(target));
        }
    }

    private static byte[] Framed(byte[] frame)
    {
        var framed = new byte[frame.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)frame.Length);
        frame.CopyTo(framed, 2);
        return framed;
    }

    // Hand-built frames of the wire tests (responder 02:00:00:00:00:01 at 10.0.0.1, peer 02:00:00:00:00:02 at 10.0.0.2).
    private const string EchoData =
        "6162636465666768" + "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

    private const string PingRequest =
        "020000000001020000000002080045000054" + "1c4640003f010b610a0000020a000001" + "0800a86b12340007" + EchoData;

    private const string ArpRequest =
        "ffffffffffff020000000002080600010800060400010200000000020a000002" + "0000000000000a000001" + "000000000000000000000000000000000000";

    private const string VlanPingRequest =
        "0200000000010200000000028100202a080045000054" + "1c4640003f010b610a0000020a000001" + "0800a86b12340007" + EchoData;

    private const string PingRequestWithOptions =
        "02000000000102000000000208004700005c" + "1c4640003f01fe510a0000020a000001" + "0707040000000000" + "0800a86b12340007" + EchoData;
}

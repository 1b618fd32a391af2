using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Tests.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// The AF_PACKET driver's offload handling fed by a hostile sender: a TAP device opened with <c>IFF_VNET_HDR</c> lets the
/// test write frames with a virtio-net header of its choosing into the kernel, which passes the GSO fields on to a packet
/// socket on that device as they are. A super-packet that would cut into more segments than the driver takes must be
/// dropped and counted, not throw out of the receive call (and lose its buffer).
/// </summary>
[NonParallelizable]
public sealed unsafe class HostileOffloadHeaderTests
{
    private const string Tap = "nbvh0";
    private const short IffVnetHeader = 0x4000;

    [Test]
    public void A_super_packet_of_more_segments_than_the_driver_takes_is_dropped_and_counted_and_its_buffer_kept()
    {
        using TestNamespace ns = TestNamespace.Create();
        int tap = NamespaceThread.Run(ns.Name, OpenVnetTap);
        try
        {
            ns.IpIn("link", "set", Tap, "up");
            using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "hostile-gso" });
            using (var driver = new AfPacketDriver(pool, Tap, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 8, TxQueueSize = 8 }))
            {
                DriverHarness.Post(driver, 8);

                // 60,000 bytes of TCP payload in segments of 50: 1,200 segments, beyond the 768 the driver cuts.
                WriteTcpSuperPacket(tap, payloadLength: 60_000, segmentSize: 50);
                WriteTcpSuperPacket(tap, payloadLength: 1_000, segmentSize: 0);

                var frames = new List<int>();
                var received = new NetBufPtr[8];
                var clock = Stopwatch.StartNew();
                while (frames.Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
                {
                    int count = 0;
                    Assert.DoesNotThrow(() => count = driver.ReceiveBatch(received), "a hostile super-packet is the driver's to drop");
                    for (int i = 0; i < count; i++)
                    {
                        frames.Add(received[i].HeaderLength + received[i].PacketLength);
                        Assert.That(pool.TryFree(received[i]), Is.True);
                    }

                    if (count == 0)
                    {
                        _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(50));
                    }
                }

                Assert.That(frames, Is.EqualTo(new[] { 14 + 20 + 20 + 1_000 }), "the plain frame behind it arrives");
                Assert.That(driver.OffloadDrops, Is.EqualTo(1), "the super-packet was dropped and counted");
                Assert.That(driver.RxDropped, Is.EqualTo(1));
            }

            Assert.That(pool.InUse, Is.Zero, "the super-packet's buffer went back with the driver");
        }
        finally
        {
            DeviceHandle.CloseQuietly(tap);
        }
    }

    private static int OpenVnetTap()
    {
        int fd = LibC.Open("/dev/net/tun", LinuxConstants.O_RDWR | LinuxConstants.O_CLOEXEC, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), "open /dev/net/tun");
        IfReq request = IfReq.For(Tap);
        request.Flags = (short)(LinuxConstants.IFF_TAP | LinuxConstants.IFF_NO_PI | IffVnetHeader);
        if (LibC.IoCtl(fd, LinuxConstants.TUNSETIFF, &request) != 0)
        {
            DeviceHandle.CloseQuietly(fd);
            Assert.Fail("ioctl(TUNSETIFF, IFF_VNET_HDR)");
        }

        return fd;
    }

    /// <summary>Writes a virtio-net header and an IPv4/TCP frame; a segment size of 0 writes a plain frame.</summary>
    private static void WriteTcpSuperPacket(int tap, int payloadLength, int segmentSize)
    {
        const int Headers = 14 + 20 + 20;
        byte[] write = new byte[VirtioNetHeader.Size + Headers + payloadLength];
        Span<byte> vnet = write.AsSpan(0, VirtioNetHeader.Size);
        vnet[0] = VirtioNetHeader.NeedsChecksum;
        vnet[1] = segmentSize == 0 ? VirtioNetHeader.GsoNone : VirtioNetHeader.GsoTcpV4;
        BinaryPrimitives.WriteUInt16LittleEndian(vnet[2..], Headers);
        BinaryPrimitives.WriteUInt16LittleEndian(vnet[4..], (ushort)segmentSize);
        BinaryPrimitives.WriteUInt16LittleEndian(vnet[6..], 14 + 20);
        BinaryPrimitives.WriteUInt16LittleEndian(vnet[8..], 16);

        Span<byte> frame = write.AsSpan(VirtioNetHeader.Size);
        frame[..6].Fill(0xFF);
        frame[6] = 0x02;
        frame[12] = 0x08;
        Span<byte> ip = frame[14..];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 20 + payloadLength));
        ip[8] = 64;
        ip[9] = 6;
        ip[12] = 10;
        ip[15] = 1;
        ip[16] = 10;
        ip[19] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], NetBufNative.Wire.InternetChecksum.Compute(ip[..20]));
        Span<byte> tcp = frame[34..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 80);
        tcp[12] = 5 << 4;
        tcp[13] = 0x10;
        fixed (byte* bytes = write)
        {
            nint written = LibC.Write(tap, bytes, (nuint)write.Length);
            Assert.That((long)written, Is.EqualTo((long)write.Length), $"write to the TAP (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }
}

using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="XdpDriver"/> end to end: a veth pair inside a namespace made for the test, the kernel
/// answering on one end, the AF_XDP socket (copy mode, the pool as its UMEM) and its redirect program
/// on the other; frames checked byte for byte and where they land (pool buffers, the kernel's
/// headroom, no copy), the filters against the kernel's own stack, bad pools and modes, statistics,
/// and disposal with buffers in every ring (exact pool counts, nothing left on the interface).
/// </summary>
[NonParallelizable]
public sealed class XdpDriverTests
{
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufNative.Wire.MacAddress _kernelMac;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(KernelEnd, DriverEnd);
        _ns.AssignKernelAddress(KernelEnd);
        _kernelMac = TestFrames.ParseMac(_ns.MacOf(KernelEnd));
        _pool = XdpDriver.CreatePool(1024, name: "xdp-test");
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void Frames_land_in_pool_buffers_at_the_kernels_headroom_and_the_kernel_answers_ARP_and_ICMP_byte_for_byte()
    {
        XdpDriver driver = Open(new XdpDriverOptions { BindMode = XdpBindMode.Copy });
        try
        {
            Assert.That(driver.DeviceName, Is.EqualTo(DriverEnd));
            Assert.That(driver.DeviceType, Is.EqualTo(DeviceType.Net));
            Assert.That(driver.IsZeroCopy, Is.False, "veth: copy mode");
            Assert.That(driver.Mtu, Is.EqualTo(1500));
            Assert.That(driver.MacAddress, Is.EqualTo(TestFrames.ParseMac(_ns.MacOf(DriverEnd))));
            Assert.That(XdpProgramOn(DriverEnd), Does.Contain("prog/xdp"), "the program is attached while the driver lives");
            DriverHarness.Post(driver, 64);

            var others = new List<byte[]>();
            var request = new byte[TestFrames.ArpFrameLength];
            TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
            DriverHarness.Send(driver, request);
            NetBufPtr arp = ReceiveMatching(driver, f => TestFrames.IsArpReply(f), others);
            TestFrames.CheckArpReply(arp.Packet, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
            CheckInPlace(arp);
            Assert.That(driver.TryRecycleRxBuffer(arp), Is.True);

            const int payload = 1000;
            DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 7, payload));
            NetBufPtr echo = ReceiveMatching(driver, f => TestFrames.IsEchoReply(f), others);
            TestFrames.CheckEchoReply(echo.Packet, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 7, payload);
            CheckInPlace(echo);
            Assert.That(driver.TryRecycleRxBuffer(echo), Is.True);

            Assert.That(others, Is.Empty, "nothing else arrived");
            Assert.That(driver.RxFrames, Is.EqualTo(2));
            Assert.That(driver.TxFrames, Is.EqualTo(2));
            Assert.That(RecycleAll(driver, 2), Is.EqualTo(2), "both sent buffers completed");
            Assert.That(driver.RxInvalid, Is.Zero);
            Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers).And.EqualTo(64));
        }
        finally
        {
            driver.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero);
        Assert.That(XdpProgramOn(DriverEnd), Does.Not.Contain("xdp"), "nothing left attached");
    }

    private XdpDriver Open(XdpDriverOptions? options = null) =>
        new(_pool, DriverEnd, new XdpDriverOptions
        {
            NetworkNamespace = _ns.Name,
            BindMode = options?.BindMode ?? XdpBindMode.Copy,
            AttachMode = options?.AttachMode ?? XdpAttachMode.Auto,
            Filter = options?.Filter ?? XdpFilter.Every,
            RxQueueSize = options?.RxQueueSize ?? 256,
            TxQueueSize = options?.TxQueueSize ?? 256,
            UseNeedWakeup = options?.UseNeedWakeup ?? true,
        });

    /// <summary>The received frame is where the kernel wrote it: inside a buffer of the pool, at the kernel's headroom.</summary>
    private void CheckInPlace(NetBufPtr received)
    {
        long offset = received.BufferAddress - _pool.BlockAddress;
        Assert.That(offset, Is.InRange(0, _pool.BlockLength - _pool.BufferStride), "inside the pool's block");
        Assert.That(offset % _pool.BufferStride, Is.Zero, "on a buffer boundary");
        Assert.That(offset / _pool.BufferStride, Is.EqualTo(received.BufferIndex));
        Assert.That((int)(received.PacketAddress - received.BufferAddress), Is.EqualTo(XdpDriver.ReceiveHeadroom), "the kernel's 256-byte headroom, no copy of ours");
    }

    /// <summary>Receives until a frame <paramref name="match"/> accepts arrives; returns it, still lent (the others are re-posted).</summary>
    private static NetBufPtr ReceiveMatching(XdpDriver driver, Func<byte[], bool> match, List<byte[]> others)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(DriverHarness.ReplyTimeout - clock.Elapsed);
            while (driver.TryReceive(out NetBufPtr received))
            {
                byte[] bytes = received.Packet.ToArray();
                if (match(bytes))
                {
                    return received;
                }

                others.Add(bytes);
                Assert.That(driver.TryRecycleRxBuffer(received), Is.True, "re-posted");
            }
        }

        Assert.Fail($"no matching frame within {DriverHarness.ReplyTimeout.TotalSeconds} s");
        return default;
    }

    /// <summary>Recycles sent buffers until <paramref name="expected"/> came back (completions can lag the send a little).</summary>
    private static int RecycleAll(XdpDriver driver, int expected)
    {
        int total = 0;
        var clock = Stopwatch.StartNew();
        while (total < expected && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            total += driver.RecycleTxBuffers();
            if (total < expected)
            {
                _ = driver.WaitForTransmit(TimeSpan.FromMilliseconds(10));
                Thread.Sleep(1);
            }
        }

        return total;
    }

    /// <summary>What <c>ip link show</c> says about the interface's XDP attachment.</summary>
    private string XdpProgramOn(string device) => _ns.IpIn("link", "show", "dev", device);
}

using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary><see cref="XdpDriverOptions.BusyPollBudget"/>: the socket options as the kernel reads them back, frames
/// received by polling alone (the empty-ring <c>recvfrom</c> path), and budgets out of range refused before anything opens.</summary>
[NonParallelizable]
public sealed unsafe class XdpBusyPollTests
{
    private const string KernelEnd = "nbbk0";
    private const string DriverEnd = "nbbd0";

    [Test]
    public void A_budget_sets_the_socket_options_and_frames_arrive_by_polling_alone()
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        var kernelMac = TestFrames.ParseMac(ns.MacOf(KernelEnd));
        using NetBufPool pool = XdpDriver.CreatePool(256, name: "xdp-busy-poll");
        foreach (int budget in new[] { 0, 64 })
        {
            using (var driver = new XdpDriver(pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = ns.Name, BindMode = XdpBindMode.Copy, BusyPollBudget = budget, RxQueueSize = 64, TxQueueSize = 64 }))
            {
                Assert.That(driver.BusyPollBudget, Is.EqualTo(budget));
                DriverHarness.Post(driver, 8);
                int fd = SocketOf(driver);
                Assert.That(SocketOption(fd, LinuxConstants.SO_PREFER_BUSY_POLL), Is.EqualTo(budget > 0 ? 1 : 0), "SO_PREFER_BUSY_POLL");
                Assert.That(SocketOption(fd, LinuxConstants.SO_BUSY_POLL), Is.EqualTo(budget > 0 ? XdpDriver.BusyPollMicroseconds : 0), "SO_BUSY_POLL");

                // SO_BUSY_POLL_BUDGET cannot be read back (the kernel's getsockopt has no case for it): set, or the
                // constructor would have thrown.

                // Polled with TryReceive only, never a wait: with a budget every empty poll is a recvfrom.
                var request = new byte[TestFrames.ArpFrameLength];
                TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
                DriverHarness.Send(driver, request);
                var clock = Stopwatch.StartNew();
                bool answered = false;
                while (!answered && clock.Elapsed < DriverHarness.ReplyTimeout)
                {
                    if (driver.TryReceive(out NetBufPtr received))
                    {
                        answered = TestFrames.IsArpReply(received.Packet.ToArray());
                        if (answered)
                        {
                            TestFrames.CheckArpReply(received.Packet, kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
                        }

                        Assert.That(driver.TryRecycleRxBuffer(received), Is.True);
                    }

                    _ = driver.RecycleTxBuffers();
                }

                Assert.That(answered, Is.True, $"the kernel's ARP reply arrived within {DriverHarness.ReplyTimeout.TotalSeconds} s of polling (budget {budget})");
            }

            Assert.That(pool.InUse, Is.Zero);
        }
    }

    /// <summary>
    /// With a budget, a receive on an empty ring is a <c>recvfrom</c> whose result is not looked at; once the interface is
    /// deleted, polling alone (no wait, as a busy-polling loop does) must still come to the sticky "gone" report, and
    /// every buffer must come back.
    /// </summary>
    [Test]
    public void With_a_budget_polling_alone_reports_a_deleted_interface_as_gone_and_keeps_saying_so()
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        using NetBufPool pool = XdpDriver.CreatePool(256, name: "xdp-busy-poll-gone");
        using (var driver = new XdpDriver(pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = ns.Name, BindMode = XdpBindMode.Copy, BusyPollBudget = 64, RxQueueSize = 64, TxQueueSize = 64 }))
        {
            DriverHarness.Post(driver, 8);
            _ = ns.IpIn("link", "del", DriverEnd);
            var batch = new NetBufPtr[8];
            NetDriverException? first = null;

            // Bounded by polls, not time: the driver checks the link every 256 empty polls.
            for (int i = 0; i < 100_000 && first is null; i++)
            {
                try
                {
                    Assert.That(driver.ReceiveBatch(batch), Is.Zero, "no frame arrives on a deleted interface");
                }
                catch (NetDriverException e)
                {
                    first = e;
                }
            }

            Assert.That(first, Is.Not.Null, "the deletion was reported within 100,000 polls");
            for (int round = 0; round < 3; round++)
            {
                var again = Assert.Throws<NetDriverException>(() => driver.ReceiveBatch(batch), "every later receive throws");
                Assert.That(again!.Kind, Is.EqualTo(NetDriverErrorKind.BadState), again.Message);
                Assert.That(again.Message, Does.Contain("gone"));
            }
        }

        Assert.That(pool.InUse, Is.Zero, "every buffer back after dispose");
    }

    [TestCase(-1)]
    [TestCase(XdpDriver.MaxBusyPollBudget + 1)]
    public void A_budget_out_of_range_is_refused_before_anything_opens(int budget)
    {
        using NetBufPool pool = XdpDriver.CreatePool(256, name: "xdp-busy-poll-bad");
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new XdpDriver(pool, "nbnone0", new XdpDriverOptions { BusyPollBudget = budget, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(error!.ParamName, Is.EqualTo(nameof(XdpDriverOptions.BusyPollBudget)));
        Assert.That(pool.Reserved, Is.Zero);
    }

    /// <summary>The AF_XDP socket: the first descriptor the driver waits on once it has buffers posted.</summary>
    private static int SocketOf(XdpDriver driver)
    {
        Span<PollFd> descriptors = stackalloc PollFd[4];
        Assert.That(driver.GetWaitDescriptors(descriptors), Is.GreaterThanOrEqualTo(1));
        return descriptors[0].Fd;
    }

    private static int SocketOption(int fd, int option)
    {
        int value = -1;
        uint length = sizeof(int);
        Assert.That(LibC.GetSockOpt(fd, LinuxConstants.SOL_SOCKET, option, &value, &length), Is.Zero, $"getsockopt({option})");
        return value;
    }
}

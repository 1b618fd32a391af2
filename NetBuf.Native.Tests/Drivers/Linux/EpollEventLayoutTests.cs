using System.Runtime.InteropServices;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary><c>struct epoll_event</c> as <see cref="EpollEvent"/> lays it out, checked against the kernel: an eventfd's event
/// comes back with every byte of its data, at the architecture's size (12 packed on x86-64, 16 on AArch64).</summary>
public sealed unsafe class EpollEventLayoutTests
{
    [Test]
    public void The_kernel_returns_the_data_written_at_the_architectures_layout()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("epoll is Linux's");
        }

        Assert.That(EpollEvent.Size, Is.EqualTo(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16));
        Assert.That(EpollEvent.DataOffset, Is.EqualTo(EpollEvent.Size - 8));
        int epoll = LibC.EpollCreate1(LinuxConstants.EPOLL_CLOEXEC);
        int eventFd = LibC.EventFd(0, LinuxConstants.EFD_NONBLOCK | LinuxConstants.EFD_CLOEXEC);
        try
        {
            Assert.That(epoll, Is.GreaterThanOrEqualTo(0));
            Assert.That(eventFd, Is.GreaterThanOrEqualTo(0));
            const ulong Data = 0x8877_6655_4433_2211;
            byte* entry = stackalloc byte[16];
            EpollEvent.Write(entry, LinuxConstants.EPOLLIN | LinuxConstants.EPOLLONESHOT, Data);
            Assert.That(LibC.EpollCtl(epoll, LinuxConstants.EPOLL_CTL_ADD, eventFd, entry), Is.Zero);
            ulong one = 1;
            Assert.That((long)LibC.Write(eventFd, &one, sizeof(ulong)), Is.EqualTo(8));

            // Two entries, poisoned: the second must stay untouched, and the first's every byte must come back.
            byte* events = stackalloc byte[32];
            new Span<byte>(events, 32).Fill(0xEE);
            Assert.That(LibC.EpollWait(epoll, events, 2, 1000), Is.EqualTo(1));
            Assert.That(EpollEvent.ReadEvents(events), Is.EqualTo(LinuxConstants.EPOLLIN));
            Assert.That(EpollEvent.ReadData(events), Is.EqualTo(Data));
            Assert.That(events[EpollEvent.Size], Is.EqualTo(0xEE), "the kernel wrote one entry of this size");

            // One-shot: the still-readable eventfd reports nothing more until it is armed again.
            Assert.That(LibC.EpollWait(epoll, events, 2, 0), Is.Zero);
        }
        finally
        {
            DeviceHandle.CloseQuietly(eventFd);
            DeviceHandle.CloseQuietly(epoll);
        }
    }
}

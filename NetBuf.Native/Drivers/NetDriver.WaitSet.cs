using NetBufNative.Drivers.Linux;

namespace NetBufNative.Drivers;

/// <summary>What a <see cref="NetDriverWaitSet"/> and an asynchronous wait (<see cref="AsyncReceiveWaiter"/>) ask of a driver to sleep on it.</summary>
public abstract partial class NetDriver
{
    /// <summary>Most descriptors one driver gives a wait set: its device and its close event.</summary>
    internal const int MaxWaitDescriptors = 2;

    /// <summary>Whether frames accepted for transmission still wait for the device (a software transmit queue whose socket
    /// had no room): a sleeping loop then looks again soon, as they move only when the driver is called.</summary>
    internal virtual bool HasPendingTransmit => false;

    /// <summary>Marks a wait set's use of the driver (its descriptors stay open until <see cref="ExitWait"/>).</summary>
    /// <returns><see langword="false"/> when the driver is disposed.</returns>
    internal bool TryEnterWait() => TryEnter();

    /// <summary>Ends a use marked by <see cref="TryEnterWait"/>.</summary>
    internal void ExitWait() => Exit();

    /// <summary>
    /// Fills the descriptors a wait set polls for this driver (between <see cref="TryEnterWait"/> and <see cref="ExitWait"/>):
    /// one readable when a frame may be waiting (or the device has an error), one readable once the driver is being disposed.
    /// </summary>
    /// <returns>How many were written; 0 when the driver has none (the wait set then looks at it in slices).</returns>
    internal virtual int GetWaitDescriptors(Span<PollFd> destination) => 0;

    /// <summary>
    /// Before a wait set sleeps: a driver that is woken by another thread rather than by a descriptor keeps
    /// <paramref name="waker"/> to signal when a frame arrives, and says whether one is waiting already.
    /// </summary>
    /// <returns><see langword="true"/> when a frame is waiting now (the wait set does not sleep).</returns>
    internal virtual bool ArmWait(WakeEvent waker) => false;

    /// <summary>After the wait set woke: forget the waker of <see cref="ArmWait"/>.</summary>
    internal virtual void DisarmWait()
    {
    }

    /// <summary>After a wait slice passed with nothing ready: look whether the device is still there (a deleted interface
    /// wakes no descriptor on some devices).</summary>
    /// <exception cref="NetDriverException">The device is gone (BadState).</exception>
    internal virtual void CheckDevice()
    {
    }

    /// <summary>Frames the kernel dropped before this driver could take them (a socket's or ring's receive queue was full, or
    /// no buffer was posted), as the kernel counts them; 0 where it counts none. Any thread; may make a system call.</summary>
    internal virtual long KernelRxDrops => 0;

    /// <summary>Whether the driver holds received frames outside its device (AF_PACKET's segments of a super-packet that did
    /// not fit the last receive): a wait set must not sleep on the descriptors then.</summary>
    internal virtual bool HasBufferedFrames => false;

    /// <summary>Whether the driver has descriptors to wait on (<see cref="GetWaitDescriptors"/>): the Linux drivers.</summary>
    internal virtual bool HasWaitDescriptors => false;

    /// <summary>Whether the driver wakes an asynchronous wait itself (<see cref="ArmAsyncWait"/>) rather than by a descriptor: the loopback driver, whose peer's transmit does.</summary>
    internal virtual bool SignalsAsyncWaits => false;

    /// <summary>Whether a long wait must ask <see cref="CheckDevice"/> every <see cref="NetDriverWaitSet.CheckInterval"/>: a deleted
    /// interface wakes no descriptor (AF_XDP, and a packet socket whose error was reported already).</summary>
    internal virtual bool NeedsDeviceChecks => false;

    /// <summary>Whether a frame can arrive at all: <see langword="false"/> while a device driver has no receive buffer posted
    /// (its waits then return <see langword="false"/> at once).</summary>
    internal virtual bool CanReceiveLater => true;

    /// <summary>
    /// Before an asynchronous wait's round (inside the use count): a driver of <see cref="SignalsAsyncWaits"/> keeps
    /// <paramref name="waiter"/> to notify (<see cref="AsyncReceiveWaiter.OnReady"/>) when a frame arrives or it is disposed.
    /// </summary>
    /// <returns><see langword="true"/> when a frame is waiting now.</returns>
    /// <exception cref="InvalidOperationException">Another waiter is armed (a second async wait over the driver): nothing was armed.</exception>
    internal virtual bool ArmAsyncWait(AsyncReceiveWaiter waiter) => false;

    /// <summary>After the round: forget <paramref name="waiter"/> if it is the one <see cref="ArmAsyncWait"/> kept (from any
    /// thread, the driver's caller awaiting); another waiter's arming is left alone.</summary>
    internal virtual void DisarmAsyncWait(AsyncReceiveWaiter waiter)
    {
    }
}

namespace NetBufNative.Processing;

/// <summary>What a <see cref="PacketLoop"/> does when a turn over its ports found no frame.</summary>
public enum PollingMode
{
    /// <summary>
    /// Spins a short while (<see cref="PacketLoopOptions.SpinDuration"/>), then sleeps until a port has a frame. The default:
    /// under traffic it polls as fast as busy polling, and an idle loop costs no CPU. Right for most services and for a
    /// machine whose cores are shared.
    /// </summary>
    Adaptive = 0,

    /// <summary>
    /// Sleeps as soon as a turn finds nothing (one <c>poll</c> over every port). The least CPU and the most system calls and
    /// wake-up latency per burst: right for low or bursty rates.
    /// </summary>
    Blocking = 1,

    /// <summary>
    /// Never sleeps: the loop polls its ports in a tight loop, as DPDK's forwarding cores do. The lowest latency and the
    /// highest rate, at the price of a whole core at 100 % even when idle: right only on a core given to the loop
    /// (<see cref="PacketLoopOptions.Cpu"/>).
    /// </summary>
    BusyPoll = 2,
}

namespace NetBufNative.Processing;

/// <summary>How a <see cref="PacketLoop"/> runs. Immutable once built; thread-safe to share.</summary>
public sealed class PacketLoopOptions
{
    /// <summary>Frames per receive and transmit call when none is given: 32, DPDK's usual burst (larger bursts gained
    /// little in the drivers' own measurements, and add latency).</summary>
    public const int DefaultBurstSize = 32;

    /// <summary>The largest <see cref="BurstSize"/>: 1024, the most messages one <c>recvmmsg</c> takes.</summary>
    public const int MaxBurstSize = 1024;

    /// <summary>What an idle loop does; <see cref="PollingMode.Adaptive"/> by default.</summary>
    public PollingMode PollingMode { get; init; } = PollingMode.Adaptive;

    /// <summary>Frames taken from a port per turn, and the most given to a port's transmit at once: 1 to <see cref="MaxBurstSize"/>, <see cref="DefaultBurstSize"/> by default.</summary>
    public int BurstSize { get; init; } = DefaultBurstSize;

    /// <summary>
    /// How long an adaptive loop spins on empty turns before it sleeps: 50 µs by default, about the time a few bursts take
    /// to arrive at a high rate, so a loop under load never sleeps between them while an idle one sleeps within
    /// a fraction of a millisecond.
    /// </summary>
    public TimeSpan SpinDuration { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>
    /// Receive buffers kept posted to each port: <see langword="null"/> (the default) for the port's whole receive queue
    /// (<see cref="Drivers.INetDriver.RxQueueSize"/>). Fewer leave more of the pool to frames in flight.
    /// </summary>
    public int? PostedBuffersPerPort { get; init; }

    /// <summary>
    /// The CPU the thread of <see cref="PacketLoop.Start"/> runs on (Linux: <c>sched_setaffinity</c>); <see langword="null"/>
    /// (the default) for any. One loop per core and queue is how a loop scales out (AF_PACKET fanout, AF_XDP queues).
    /// </summary>
    public int? Cpu { get; init; }

    /// <summary>The loop's name: its thread's name and its metrics' tag; "packet-loop-N" by default.</summary>
    public string? Name { get; init; }
}

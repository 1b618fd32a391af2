using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;

namespace NetBufNative.Apps;

/// <summary>How an <see cref="EchoResponderLoop"/> runs over its driver. Immutable once built; thread-safe to share.</summary>
public sealed class EchoResponderLoopOptions
{
    /// <summary>Frames per batch when none is given: 32, the AF_PACKET driver's batch, where the batched rate was measured (a larger batch gained little).</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>The largest batch: 1024, the most messages one <c>recvmmsg</c>/<c>sendmmsg</c> takes (the kernel's <c>UIO_MAXIOV</c>).</summary>
    public const int MaxBatchSize = 1024;

    /// <summary>
    /// The responder's hardware address; <see langword="null"/> (the default) for the driver's
    /// <see cref="INetDriver.MacAddress"/>, except over a <see cref="TapDriver"/>, whose address is the
    /// kernel's end of the cable: there the default is that address with its last bit flipped (see
    /// <see cref="EchoResponderLoop.MacAddress"/>).
    /// </summary>
    public MacAddress? MacAddress { get; init; }

    /// <summary>Frames received and answered per batch, 1 to <see cref="MaxBatchSize"/>; <see cref="DefaultBatchSize"/> by default. 1 receives and transmits one frame per call.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>
    /// How many empty buffers the loop keeps posted to the driver's receive queue, at least 1;
    /// <see langword="null"/> (the default) for the driver's <see cref="INetDriver.RxQueueSize"/>. The loop
    /// posts fewer while the pool has no free buffer, and tops the queue up again after every batch.
    /// </summary>
    public int? PostedBuffers { get; init; }
}

namespace NetBufNative.Processing;

/// <summary>The application of a <see cref="PacketLoop"/>: decides what becomes of every frame received.</summary>
/// <remarks>Called on the loop's thread only, one batch at a time.</remarks>
public interface IPacketHandler
{
    /// <summary>
    /// Decides each frame of <paramref name="batch"/>: <see cref="PacketBatch.Transmit"/> it on a port (zero copy),
    /// <see cref="PacketBatch.Keep"/> it, or leave it to be dropped (the default). New frames go out with
    /// <see cref="PacketBatch.Send"/>.
    /// </summary>
    /// <param name="batch">The frames one port delivered; valid during this call only.</param>
    /// <remarks>An exception ends the loop (<see cref="PacketLoop.Run"/> throws it); the batch's frames that were not kept
    /// go back to the pool first.</remarks>
    void OnReceived(PacketBatch batch);
}

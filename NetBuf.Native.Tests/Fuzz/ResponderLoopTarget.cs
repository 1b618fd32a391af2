using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Wire;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// <see cref="EchoResponderLoop"/> over a pair of <see cref="LoopbackDriver"/>s: the input's frames
/// are sent from the peer end in chunks it chooses, the loop processes them in batches of the size
/// it chooses, and every reply is checked against the pure responder run on a copy of its request
/// (same bytes, in the same buffer, at the same place) while the rest of the buffer must still hold
/// the pattern written there before sending. No exception may escape the loop; its counters must
/// add up; the pool must be intact once both ends are disposed.
/// </summary>
internal static class ResponderLoopTarget
{
    private const int QueueSize = 32;
    private const byte Canary = 0xA5;

    /// <summary>Runs one input.</summary>
    /// <param name="input">A batch-size byte, then chunks: a count byte and that many length-prefixed frames.</param>
    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new InputReader(input);
        int batchSize = 1 + (reader.Byte() % 8);
        using var pool = new NetBufPool(4 * QueueSize, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "fuzz-loop" });
        (LoopbackDriver host, LoopbackDriver device) = LoopbackDriver.CreatePair(pool, QueueSize);
        var expected = new Dictionary<int, (byte[] Reply, int Length, int RequestLength)>();
        long sent = 0;
        long answered = 0;
        try
        {
            for (int i = 0; i < QueueSize; i++)
            {
                FuzzFindingException.Check(host.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), "the host end took no receive buffer");
            }

            var loop = new EchoResponderLoop(device, WireTargets.OurIp, new EchoResponderLoopOptions { MacAddress = WireTargets.OurMac, BatchSize = batchSize });
            _ = loop.ProcessBatch(); // posts the device's receive buffers

            while (!reader.IsAtEnd)
            {
                int chunk = 1 + (reader.Byte() % 16);
                for (int i = 0; i < chunk && !reader.IsAtEnd; i++)
                {
                    ReadOnlySpan<byte> frame = reader.Chunk();
                    frame = frame[..Math.Min(frame.Length, pool.BufferLength - pool.DefaultHeadroom)];
                    NetBufPtr request = host.AllocTxBuffer(frame.Length);
                    Span<byte> whole = WholeBuffer(request, pool);
                    whole.Fill(Canary);
                    frame.CopyTo(request.PacketWithHeader);

                    byte[] copy = frame.ToArray();
                    bool answer = EchoResponder.TryAnswer(copy, copy.Length, WireTargets.OurMac, WireTargets.OurIp, out int replyLength);
                    expected[request.BufferIndex] = (copy, answer ? replyLength : -1, frame.Length);
                    answered += answer ? 1 : 0;
                    FuzzFindingException.Check(host.TryTransmit(request), "the host end could not transmit");
                    sent++;
                }

                while (loop.ProcessBatch() > 0)
                {
                }

                while (host.TryReceive(out NetBufPtr reply))
                {
                    CheckReply(reply, pool, expected);
                    FuzzFindingException.Check(host.TryRecycleRxBuffer(reply), "the host end took its buffer back");
                }

                _ = host.RecycleTxBuffers();
            }

            EchoResponderCounters counters = loop.Counters;
            FuzzFindingException.Check(host.RxDropped == 0 && device.RxDropped == 0, $"frames dropped: host {host.RxDropped}, device {device.RxDropped}");
            FuzzFindingException.Check(counters.Received == sent, $"the loop received {counters.Received} of {sent} frames");
            FuzzFindingException.Check(
                counters.ArpReplies + counters.EchoReplies + counters.Ignored + counters.Malformed == counters.Received,
                $"counters do not add up: {counters}");
            FuzzFindingException.Check(counters.ArpReplies + counters.EchoReplies == answered && host.RxFrames == answered, $"{answered} replies expected: {counters}, host received {host.RxFrames}");
            FuzzFindingException.Check(counters.TransmitDropped == 0 && counters.TransmitErrors == 0, $"replies lost: {counters}");
        }
        finally
        {
            host.Dispose();
            device.Dispose();
        }

        FuzzFindingException.Check(pool.Available == pool.Capacity && pool.InUse == 0, $"pool not intact: {pool.Available} of {pool.Capacity} available, {pool.InUse} in use");
    }

    private static unsafe Span<byte> WholeBuffer(NetBufPtr pointer, NetBufPool pool) => new((void*)pointer.BufferAddress, pool.BufferLength);

    private static void CheckReply(NetBufPtr reply, NetBufPool pool, Dictionary<int, (byte[] Reply, int Length, int RequestLength)> expected)
    {
        FuzzFindingException.Check(expected.Remove(reply.BufferIndex, out var sent), $"a reply came back in buffer {reply.BufferIndex}, which carried no request");
        FuzzFindingException.Check(sent.Length > 0, "a frame the pure responder leaves unanswered was answered");
        Span<byte> whole = WholeBuffer(reply, pool);
        int offset = (int)(reply.HeaderAddress - reply.BufferAddress);
        FuzzFindingException.Check(offset == pool.DefaultHeadroom && reply.PacketWithHeader.Length == sent.Length, $"reply at +{offset}, {reply.PacketWithHeader.Length} bytes; expected +{pool.DefaultHeadroom}, {sent.Length}");
        FuzzFindingException.Check(whole.Slice(offset, sent.RequestLength).SequenceEqual(sent.Reply), "the loop's reply differs from the pure responder's");
        FuzzFindingException.Check(whole[..offset].IndexOfAnyExcept(Canary) < 0 && whole[(offset + sent.RequestLength)..].IndexOfAnyExcept(Canary) < 0, "bytes outside the frame were written");
    }
}

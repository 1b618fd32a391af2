using NetBufNative.Drivers;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// Two drivers bridged through the test process on a thread of its own: every frame received on one is transmitted
/// unchanged on the other, both ways, as the user's forwarder that found the checksum offload trap did. Receive buffers are
/// replaced from the pool as frames leave; a frame the other side does not take is freed.
/// </summary>
internal sealed class TestForwarder : IDisposable
{
    private readonly INetDriver _a;
    private readonly INetDriver _b;
    private readonly Thread _thread;
    private volatile bool _stop;
    private Exception? _error;

    internal TestForwarder(INetDriver a, INetDriver b)
    {
        _a = a;
        _b = b;
        Fill(a, a.RxQueueSize);
        Fill(b, b.RxQueueSize);
        _thread = new Thread(Run) { IsBackground = true, Name = "test forwarder" };
        _thread.Start();
    }

    /// <summary>Frames forwarded, both ways.</summary>
    internal long Forwarded { get; private set; }

    /// <summary>Stops the thread and rethrows what it met.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        if (_error is not null)
        {
            throw new InvalidOperationException("the forwarder failed", _error);
        }
    }

    private static void Fill(INetDriver driver, int count)
    {
        Span<NetBufPtr> buffers = stackalloc NetBufPtr[1];
        for (int i = 0; i < count; i++)
        {
            if (!driver.Pool.TryAllocBulk(buffers))
            {
                return;
            }

            if (!driver.TryRecycleRxBuffer(buffers[0]))
            {
                driver.Pool.FreeBulk(buffers);
                return;
            }
        }
    }

    private void Run()
    {
        var batch = new NetBufPtr[64];
        try
        {
            while (!_stop)
            {
                int moved = Move(_a, _b, batch) + Move(_b, _a, batch);
                if (moved == 0)
                {
                    // Two shared cores: sleep a little rather than spin the kernel's senders off their CPU.
                    Thread.Sleep(1);
                }
            }
        }
        catch (Exception error)
        {
            _error = error;
        }
    }

    private int Move(INetDriver from, INetDriver to, NetBufPtr[] batch)
    {
        _ = to.RecycleTxBuffers();
        int count = from.ReceiveBatch(batch);
        if (count == 0)
        {
            return 0;
        }

        int sent = to.TransmitBatch(batch.AsSpan(0, count));
        if (sent < count)
        {
            from.Pool.FreeBulk(batch.AsSpan(sent, count - sent));
        }

        Forwarded += count;
        Fill(from, count);
        return count;
    }
}

using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// Async waits misused as the documentation says they are refused: a second async wait over a loopback driver (its own,
/// or a wait set's over it) while one is pending must throw <see cref="InvalidOperationException"/>, as it does over a
/// driver with a descriptor (epoll's EEXIST), and must not take the pending wait's wake-up from it.
/// </summary>
public sealed class AsyncWaitReviewTests
{
    private const int Queue = 8;

    [Test]
    public void A_wait_set_wait_over_a_loopback_driver_with_an_async_wait_pending_is_refused_and_the_pending_wait_still_completes()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "async-review" });
        var (sender, receiver) = LoopbackDriver.CreatePair(pool, Queue);
        try
        {
            for (int i = 0; i < Queue; i++)
            {
                Assert.That(receiver.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);
            }

            ValueTask<bool> pending = receiver.WaitForReceiveAsync(Timeout.InfiniteTimeSpan);
            Assert.That(pending.IsCompleted, Is.False, "nothing to receive yet");
            using (var set = new NetDriverWaitSet(receiver))
            {
                Assert.Throws<InvalidOperationException>(
                    () => _ = set.WaitForReceiveAsync(TimeSpan.FromSeconds(30)).AsTask(),
                    "the driver is in a pending async wait already");
                Assert.Throws<InvalidOperationException>(
                    () => _ = set.WaitForReceiveAsync(TimeSpan.FromSeconds(30)).AsTask(),
                    "refused again: nothing of the first refusal was left behind");
            }

            NetBufPtr frame = sender.AllocTxBuffer(60);
            Assert.That(sender.TryTransmit(frame), Is.True);
            Task<bool> first = pending.AsTask();
            Assert.That(first.Wait(TimeSpan.FromSeconds(10)), Is.True, "the pending wait got its frame's wake-up");
            Assert.That(first.Result, Is.True);
            Assert.That(receiver.TryReceive(out NetBufPtr received), Is.True);
            Assert.That(pool.TryFree(received), Is.True);
        }
        finally
        {
            // Bounded: Dispose wakes a pending wait, then waits for its round to let go of the driver.
            var dispose = Task.Run(() =>
            {
                receiver.Dispose();
                sender.Dispose();
            });
            Assert.That(dispose.Wait(TimeSpan.FromSeconds(10)), Is.True, "the drivers' use counts came back to 0");
        }

        Assert.That(pool.InUse, Is.Zero);
    }
}

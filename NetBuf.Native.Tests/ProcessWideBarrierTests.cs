using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The check that decides whether the thread caches can trust the process-wide barrier, and the
/// symmetric-fence fallback: the same steal/trim stress with an ownership table runs clean with it.
/// </summary>
[NonParallelizable]
public sealed class ProcessWideBarrierTests
{
    [Test]
    public void The_check_asks_the_kernel_on_Linux_and_trusts_the_barrier_where_it_is_known_to_be_real()
    {
        // The description first, before anything asks again: the decision made at start-up must carry it.
        Assert.That(ProcessWideBarrier.Description, Is.Not.Empty);
        bool reliable = ProcessWideBarrier.IsProcessWideBarrierReliable();
        TestContext.Out.WriteLine($"{RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}: {ProcessWideBarrier.Description}");
        Assert.That(ProcessWideBarrier.OwnerMustFence, Is.EqualTo(!reliable));

        bool x86 = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
        if (OperatingSystem.IsLinux())
        {
            int commands = ProcessWideBarrier.QueryMembarrier();
            bool expedited = (commands & (1 << 3)) != 0;
            TestContext.Out.WriteLine($"membarrier commands: 0x{commands:x}");
            Assert.That(reliable, Is.EqualTo(expedited || x86), "reliable exactly when membarrier is expedited or the CPU is x86");
        }
        else if (OperatingSystem.IsWindows())
        {
            Assert.That(reliable, Is.True);
        }
        else
        {
            Assert.That(reliable, Is.EqualTo(x86));
        }
    }

    [Test]
    public void With_the_symmetric_fence_steals_and_trims_never_hand_a_buffer_to_two_owners()
    {
        const int Capacity = 32;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 8, ForceOwnerFence = true });
        var owners = new int[Capacity];
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        long cycles = 0;
        using var stop = new CancellationTokenSource();
        var trimmer = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                pool.Trim();
                Thread.Sleep(1);
            }
        });

        var workers = Enumerable.Range(1, 4).Select(id => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            var held = new Queue<NetBufBox>();
            // Not scaled down in mutation runs (StressBudget): at a tenth of this it never caught
            // either fence removed; at 1.5 s it caught each in 5 of 5 runs.
            while (clock.Elapsed < TimeSpan.FromSeconds(1.5) && failures.IsEmpty)
            {
                // Up to 10 each: 4 x 10 > 32, so the pool runs dry and threads steal.
                if (held.Count < 10 && pool.TryAllocBoxed(out var box))
                {
                    int index = box.AsNetBuf().BufferIndex;
                    int previous = Interlocked.Exchange(ref owners[index], id);
                    if (previous != 0)
                    {
                        failures.Enqueue($"buffer {index} given to {id} while {previous} held it");
                    }

                    held.Enqueue(box);
                }
                else if (held.TryDequeue(out var done))
                {
                    Interlocked.Exchange(ref owners[done.AsNetBuf().BufferIndex], 0);
                    done.Dispose();
                    Interlocked.Increment(ref cycles);
                }
            }

            while (held.TryDequeue(out var box))
            {
                Interlocked.Exchange(ref owners[box.AsNetBuf().BufferIndex], 0);
                box.Dispose();
            }
        }))).ToList();

        trimmer.Start();
        workers.ForEach(t => t.Start());
        Deadlines.JoinAll(workers);
        stop.Cancel();
        Deadlines.Join(trimmer);
        Assert.That(failures, Is.Empty);
        Assert.That(Interlocked.Read(ref cycles), Is.GreaterThan(10_000), "enough cycles to mean something");
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(Capacity));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using NetBufNative.Internal;

namespace NetBufNative.Bench;

/// <summary>
/// The soak: every way of using a pool at once, on many threads, for a given time; then the pool
/// is disposed with a buffer out. Every owner stamps its buffer and checks the stamp before it
/// gives the buffer back, and marks the buffer as held in an ownership table (a buffer held twice
/// is caught at once); stale copies of boxes and pointers are misused on purpose and must be
/// refused; copies of live boxes race to dispose them, and exactly one must win. Prints what was
/// done and found; exit code 1 on any lost buffer, corruption, missed misuse or hang.
/// </summary>
internal static class Soak
{
    /// <summary>Buffers in the pool: fewer than the threads' caches can hold (8 each, automatic for
    /// this capacity on 2 cores, times some 25 threads), so the shared list runs dry and allocations
    /// steal from other threads' caches; an allocation refused because every buffer is out is
    /// counted, not an error.</summary>
    private const int Capacity = 64;

    private const int BufferLength = 2048;

    /// <summary>Bytes of the stamp an owner writes: its thread number and a sequence number.</summary>
    private const int StampLength = 16;

    /// <summary>How long the threads get to finish once stopped before the run counts as a hang.</summary>
    private static readonly TimeSpan JoinDeadline = TimeSpan.FromSeconds(30);

    private static readonly object[] s_staleBoxes = new object[64];
    private static readonly object[] s_stalePointers = new object[64];
    private static readonly object?[] s_racingBoxes = new object?[16];

    private static long s_operations;
    private static long s_misuseCaught;
    private static long s_misuseMissed;
    private static long s_corruptions;
    private static long s_exhausted;
    private static long s_racesStarted;
    private static long s_raceWins;
    private static long s_shortLivedThreads;
    private static long s_poolsChurned;
    private static int s_stop;
    private static int[] s_holders = [];

    /// <summary>Runs the soak for <paramref name="seconds"/>.</summary>
    /// <returns>The process exit code: 0 when nothing was lost or corrupted.</returns>
    public static int Run(int seconds, int threads)
    {
        Console.WriteLine($"soak: {seconds} s, {threads} threads per operation mix, pool of {Capacity} x {BufferLength} bytes, {Environment.ProcessorCount} CPUs");
        var pool = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "soak" });
        var memoryPool = new NetBufMemoryPool(pool);
        s_holders = new int[Capacity];
        var clock = Stopwatch.StartNew();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        var bodies = new List<(string Name, Action<int, Random> Body)>
        {
            ("netbuf", (id, random) => NetBufs(pool, id, random)),
            ("boxes", (id, random) => Boxes(pool, id, random)),
            ("pointers", (id, random) => Pointers(pool, id, random)),
            ("bulk", (id, random) => Bulk(pool, id, random)),
            ("worker", (id, random) => WorkerAndBatch(pool, id, random)),
            ("pipelines", (id, random) => Pipelines(memoryPool, id, random)),
            ("racing-copies", (id, random) => RacingCopies(pool, random)),
            ("stale-misuse", (id, random) => StaleMisuse(pool, random)),
            ("short-lived-threads", (id, random) => ShortLivedThread(pool, id, random)),
            ("trim", (id, random) => TrimNow(pool, random)),
            ("pool-churn", (id, random) => PoolChurn(random)),
        };

        var running = new List<Thread>();
        int nextId = 1;
        foreach ((string name, Action<int, Random> body) in bodies)
        {
            int copies = name is "trim" or "pool-churn" or "short-lived-threads" or "stale-misuse" ? 1 : threads;
            for (int c = 0; c < copies; c++)
            {
                int id = nextId++;
                var thread = new Thread(() => Loop(name, id, body, failures)) { IsBackground = true, Name = $"soak-{name}-{c}" };
                running.Add(thread);
                thread.Start();
            }
        }

        while (clock.Elapsed < TimeSpan.FromSeconds(seconds) && failures.IsEmpty && Interlocked.Read(ref s_corruptions) == 0)
        {
            Thread.Sleep(250);
        }

        Volatile.Write(ref s_stop, 1);
        var joinClock = Stopwatch.StartNew();
        foreach (Thread thread in running)
        {
            TimeSpan left = JoinDeadline - joinClock.Elapsed;
            if (!thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                failures.Enqueue($"{thread.Name} did not stop within {JoinDeadline.TotalSeconds} s (a hang)");
            }
        }

        TimeSpan elapsed = clock.Elapsed;

        // Every thread gave its buffers back before it stopped: every buffer must be free again.
        pool.Trim();
        int lost = Capacity - pool.Available;
        int held = s_holders.Count(h => h != 0);

        // Disposal at the end, with a buffer out: the block must outlive it, and be freed once after.
        NetBufBox last = pool.AllocBoxed();
        memoryPool.Dispose();
        pool.Dispose();
        bool freedTooEarly = pool.IsMemoryReleased;
        last.Dispose();
        bool freedOnce = pool.IsMemoryReleased && pool.Memory.TimesFreed == 1;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();

        long operations = Interlocked.Read(ref s_operations);
        Console.WriteLine($"elapsed:                 {elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"operations done:         {operations:N0} ({operations / elapsed.TotalSeconds:N0}/s)");
        Console.WriteLine($"misuse attempts caught:  {Interlocked.Read(ref s_misuseCaught):N0}");
        Console.WriteLine($"misuse attempts missed:  {Interlocked.Read(ref s_misuseMissed):N0} (must be 0)");
        Console.WriteLine($"racing copies:           {Interlocked.Read(ref s_racesStarted):N0} boxes raced, {Interlocked.Read(ref s_raceWins):N0} won (must be equal)");
        Console.WriteLine($"short-lived threads:     {Interlocked.Read(ref s_shortLivedThreads):N0}; pools created and disposed with buffers out: {Interlocked.Read(ref s_poolsChurned):N0}");
        Console.WriteLine($"allocations refused (pool exhausted, not an error): {Interlocked.Read(ref s_exhausted):N0}");
        Console.WriteLine($"buffers lost:            {lost} (must be 0); still marked held: {held}");
        Console.WriteLine($"corruptions found:       {Interlocked.Read(ref s_corruptions):N0} (must be 0)");
        Console.WriteLine($"block at disposal:       {(freedTooEarly ? "FREED WHILE A BUFFER WAS OUT" : "kept while a buffer was out")}, {(freedOnce ? "freed exactly once after" : "NOT FREED EXACTLY ONCE")}");
        Console.WriteLine($"memory at the end:       managed {managed / 1024.0 / 1024.0:F1} MiB, working set {process.WorkingSet64 / 1024.0 / 1024.0:F1} MiB, leaked blocks {PoolBlock.LeakedBlocks}");
        foreach (string failure in failures.Take(20))
        {
            Console.WriteLine($"failure: {failure}");
        }

        bool ok = lost == 0 && held == 0 && failures.IsEmpty && !freedTooEarly && freedOnce &&
            Interlocked.Read(ref s_corruptions) == 0 && Interlocked.Read(ref s_misuseMissed) == 0 &&
            Interlocked.Read(ref s_racesStarted) == Interlocked.Read(ref s_raceWins) && operations > 0;
        Console.WriteLine(ok ? "soak: PASSED" : "soak: FAILED");
        return ok ? 0 : 1;
    }

    private static void Loop(string name, int id, Action<int, Random> body, System.Collections.Concurrent.ConcurrentQueue<string> failures)
    {
        var random = new Random(id);
        try
        {
            while (Volatile.Read(ref s_stop) == 0)
            {
                body(id, random);
            }
        }
        catch (Exception ex)
        {
            failures.Enqueue($"{name} ({id}) threw {ex}");
        }
    }

    private static void NetBufs(NetBufPool pool, int id, Random random)
    {
        if (!pool.TryAlloc(out NetBuf buffer))
        {
            Interlocked.Increment(ref s_exhausted);
            return;
        }

        using (buffer)
        {
            long sequence = Interlocked.Increment(ref s_operations);
            Hold(buffer.BufferIndex, id);
            Stamp(buffer.Append(StampLength), id, sequence);
            buffer.Prepend(random.Next(0, 32)).Clear();
            Check(buffer.Packet, id, sequence, "netbuf");
            Unhold(buffer.BufferIndex, id);
        }
    }

    private static void Boxes(NetBufPool pool, int id, Random random)
    {
        var held = new NetBufBox[random.Next(1, 5)];
        var sequences = new long[held.Length];
        int count = 0;
        for (; count < held.Length; count++)
        {
            if (!pool.TryAllocBoxed(out held[count]))
            {
                Interlocked.Increment(ref s_exhausted);
                break;
            }

            sequences[count] = Interlocked.Increment(ref s_operations);
            Hold(held[count].Index, id);
            Stamp(held[count].AsNetBuf().Append(StampLength), id, sequences[count]);
        }

        for (int i = 0; i < count; i++)
        {
            NetBufBox box = held[i];
            Check(box.AsNetBuf().Packet, id, sequences[i], "box");
            Unhold(box.Index, id);
            if ((i & 1) == 0)
            {
                box.Dispose();
            }
            else
            {
                using NetBuf owned = box.IntoNetBuf();
            }

            Publish(s_staleBoxes, random, held[i]);
        }
    }

    private static void Pointers(NetBufPool pool, int id, Random random)
    {
        if (!pool.TryAllocBoxed(out NetBufBox box))
        {
            Interlocked.Increment(ref s_exhausted);
            return;
        }

        long sequence = Interlocked.Increment(ref s_operations);
        Hold(box.Index, id);
        Stamp(box.AsNetBuf().Append(StampLength), id, sequence);
        NetBufPtr pointer = box.IntoBufPtr();
        Check(pointer.Packet, id, sequence, "pointer");

        // Two copies race to restore: exactly one must succeed.
        NetBufPtr copy = pointer;
        bool first = pool.TryFromBufPtr(pointer, out NetBuf restored);
        bool second = pool.TryFromBufPtr(copy, out NetBuf again);
        if (first == second)
        {
            Corrupt($"two restores of one pointer: {first} and {second}");
        }

        if (first)
        {
            Unhold(restored.BufferIndex, id);
            restored.Dispose();
        }

        if (second)
        {
            again.Dispose();
        }

        Publish(s_stalePointers, random, pointer);
    }

    private static void Bulk(NetBufPool pool, int id, Random random)
    {
        Span<NetBufPtr> pointers = stackalloc NetBufPtr[random.Next(1, 17)];
        if (!pool.TryAllocBulk(pointers))
        {
            Interlocked.Increment(ref s_exhausted);
            return;
        }

        long sequence = Interlocked.Add(ref s_operations, pointers.Length);
        foreach (NetBufPtr pointer in pointers)
        {
            Hold(pointer.BufferIndex, id);
            Stamp(RawOf(pool, pointer), id, sequence);
        }

        foreach (NetBufPtr pointer in pointers)
        {
            Check(RawOf(pool, pointer), id, sequence, "bulk");
            Unhold(pointer.BufferIndex, id);
        }

        pool.FreeBulk(pointers);
        Publish(s_stalePointers, random, pointers[0]);
    }

    private static void WorkerAndBatch(NetBufPool pool, int id, Random random)
    {
        using NetBufWorker worker = pool.OpenWorker();
        for (int i = 0; i < 16; i++)
        {
            if (!worker.TryAllocBatch(random.Next(1, 9), out NetBufBatch batch))
            {
                Interlocked.Increment(ref s_exhausted);
                return;
            }

            using (batch)
            {
                long sequence = Interlocked.Add(ref s_operations, batch.Count);
                for (int b = 0; b < batch.Count; b++)
                {
                    NetBuf buffer = batch[b];
                    Hold(buffer.BufferIndex, id);
                    Stamp(buffer.Append(StampLength), id, sequence);
                }

                for (int b = 0; b < batch.Count; b++)
                {
                    NetBuf buffer = batch[b];
                    Check(buffer.Packet, id, sequence, "batch");
                    Unhold(buffer.BufferIndex, id);
                }
            }

            if (worker.TryAlloc(out NetBuf single))
            {
                Interlocked.Increment(ref s_operations);
                single.Dispose();
            }
        }
    }

    private static void Pipelines(NetBufMemoryPool memoryPool, int id, Random random)
    {
        var pipe = new Pipe(new PipeOptions(pool: memoryPool, minimumSegmentSize: BufferLength, useSynchronizationContext: false));
        try
        {
            for (int round = 0; round < 8; round++)
            {
                int length = random.Next(1, BufferLength + 1);
                byte seed = (byte)random.Next();
                Span<byte> span = pipe.Writer.GetSpan(length)[..Math.Min(length, BufferLength)];
                for (int i = 0; i < span.Length; i++)
                {
                    span[i] = unchecked((byte)(seed + i));
                }

                pipe.Writer.Advance(span.Length);
                _ = pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
                ReadResult read = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
                int offset = 0;
                foreach (ReadOnlyMemory<byte> segment in read.Buffer)
                {
                    foreach (byte value in segment.Span)
                    {
                        if (value != unchecked((byte)(seed + offset)))
                        {
                            Corrupt($"pipelines ({id}): byte {offset} is {value}, expected {unchecked((byte)(seed + offset))}");
                            break;
                        }

                        offset++;
                    }
                }

                pipe.Reader.AdvanceTo(read.Buffer.End);
                Interlocked.Increment(ref s_operations);
            }
        }
        catch (NetBufPoolExhaustedException)
        {
            Interlocked.Increment(ref s_exhausted);
        }
        finally
        {
            pipe.Writer.Complete();
            pipe.Reader.Complete();
        }
    }

    private static void RacingCopies(NetBufPool pool, Random random)
    {
        // Half of these threads publish live boxes and then dispose them; all of them dispose
        // whatever copies they find. Of the owner and every copy, exactly one dispose wins.
        if (random.Next(2) == 0 && pool.TryAllocBoxed(out NetBufBox box))
        {
            Interlocked.Increment(ref s_racesStarted);
            Volatile.Write(ref s_racingBoxes[random.Next(s_racingBoxes.Length)], box);
            Thread.SpinWait(random.Next(0, 64));
            TryDispose(box);
        }

        object? found = Interlocked.Exchange(ref s_racingBoxes[random.Next(s_racingBoxes.Length)], null);
        if (found is NetBufBox copy)
        {
            TryDispose(copy);
        }

        static void TryDispose(NetBufBox box)
        {
            try
            {
                box.Dispose();
                Interlocked.Increment(ref s_raceWins);
                Interlocked.Increment(ref s_operations);
            }
            catch (ObjectDisposedException)
            {
                Interlocked.Increment(ref s_misuseCaught);
            }
        }
    }

    private static void StaleMisuse(NetBufPool pool, Random random)
    {
        // Every copy published here was disposed, restored or freed by its owner first: any use
        // must be refused, whatever the buffer has become since.
        if (Volatile.Read(ref s_staleBoxes[random.Next(s_staleBoxes.Length)]) is NetBufBox box)
        {
            Misuse(() => box.Dispose());
            Misuse(() =>
            {
                NetBufBox copy = box;
                using NetBuf owned = copy.IntoNetBuf();
            });
            Misuse(() => pool.FreeBulk([box]));
        }

        if (Volatile.Read(ref s_stalePointers[random.Next(s_stalePointers.Length)]) is NetBufPtr pointer)
        {
            Misuse(() => pool.FromBufPtr(pointer).Dispose());
            Misuse(() => pool.FreeBulk([pointer]));
            if (pool.TryFromBufPtr(pointer, out NetBuf restored))
            {
                restored.Dispose();
                Interlocked.Increment(ref s_misuseMissed);
            }
            else
            {
                Interlocked.Increment(ref s_misuseCaught);
            }
        }

        Thread.Yield();

        static void Misuse(Action action)
        {
            try
            {
                action();
                Interlocked.Increment(ref s_misuseMissed);
            }
            catch (InvalidOperationException)
            {
                // ObjectDisposedException (stale handle) derives from it.
                Interlocked.Increment(ref s_misuseCaught);
            }
        }
    }

    private static void ShortLivedThread(NetBufPool pool, int id, Random random)
    {
        int count = random.Next(1, 64);
        var thread = new Thread(() =>
        {
            for (int i = 0; i < count; i++)
            {
                if (pool.TryAlloc(out NetBuf buffer))
                {
                    Interlocked.Increment(ref s_operations);
                    buffer.Dispose(); // into this thread's cache, which it leaves behind
                }
            }
        });
        thread.Start();
        thread.Join();
        Interlocked.Increment(ref s_shortLivedThreads);
    }

    private static void TrimNow(NetBufPool pool, Random random)
    {
        Thread.Sleep(random.Next(1, 20));
        pool.Trim();
        Interlocked.Increment(ref s_operations);
    }

    private static void PoolChurn(Random random)
    {
        var pool = new NetBufPool(random.Next(2, 64), NetBufPool.MinBufferLength);
        NetBufBox box = pool.AllocBoxed();
        NetBufPtr pointer = pool.AllocBoxed().IntoBufPtr();
        var other = new Thread(() => pool.FromBufPtr(pointer).Dispose());
        other.Start();
        pool.Dispose();
        if (pool.IsMemoryReleased)
        {
            Corrupt("a disposed pool freed its block while a box was out");
        }

        box.Dispose();
        other.Join();
        if (!pool.IsMemoryReleased || pool.Memory.TimesFreed != 1)
        {
            Corrupt($"a disposed pool's block was freed {pool.Memory.TimesFreed} times after every buffer came back");
        }

        Interlocked.Increment(ref s_poolsChurned);
    }

    private static Span<byte> RawOf(NetBufPool pool, NetBufPtr pointer)
    {
        unsafe
        {
            return new Span<byte>((byte*)pointer.BufferAddress + pool.BufferLength - StampLength, StampLength);
        }
    }

    private static void Stamp(Span<byte> span, int id, long sequence)
    {
        BinaryPrimitives.WriteInt64LittleEndian(span, id);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], sequence);
    }

    private static void Check(ReadOnlySpan<byte> span, int id, long sequence, string what)
    {
        long seenId = BinaryPrimitives.ReadInt64LittleEndian(span[^StampLength..]);
        long seenSequence = BinaryPrimitives.ReadInt64LittleEndian(span[^(StampLength - 8)..]);
        if (seenId != id || seenSequence != sequence)
        {
            Corrupt($"{what}: stamp {seenId}/{seenSequence}, expected {id}/{sequence}");
        }
    }

    private static void Hold(int index, int id)
    {
        int previous = Interlocked.Exchange(ref s_holders[index], id);
        if (previous != 0)
        {
            Corrupt($"buffer {index} handed to thread {id} while thread {previous} held it");
        }
    }

    private static void Unhold(int index, int id)
    {
        int previous = Interlocked.Exchange(ref s_holders[index], 0);
        if (previous != id)
        {
            Corrupt($"buffer {index} released by thread {id} but held by {previous}");
        }
    }

    private static void Publish<T>(object[] ring, Random random, T value)
        where T : struct
    {
        if (random.Next(8) == 0)
        {
            Volatile.Write(ref ring[random.Next(ring.Length)], value);
        }
    }

    private static void Corrupt(string what)
    {
        if (Interlocked.Increment(ref s_corruptions) <= 20)
        {
            Console.WriteLine($"corruption: {what}");
        }
    }

    /// <summary>Parses <c>soak [--seconds N] [--threads N]</c>.</summary>
    public static int RunFromArguments(string[] args)
    {
        int seconds = 30;
        int threads = Math.Max(2, Environment.ProcessorCount);
        for (int i = 1; i + 1 < args.Length; i += 2)
        {
            int value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--seconds":
                    seconds = value;
                    break;
                case "--threads":
                    threads = value;
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        return Run(seconds, threads);
    }
}

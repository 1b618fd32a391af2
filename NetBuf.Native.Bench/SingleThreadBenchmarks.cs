using System.Buffers;
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// One alloc+free pair on one thread, for every way a .NET program can get a packet buffer, and
/// the floors. Each invocation runs <see cref="Pairs"/> pairs, so the reported time is per pair.
/// </summary>
[MemoryDiagnoser]
public class SingleThreadBenchmarks
{
    /// <summary>Pairs per invocation: enough that one invocation takes microseconds, not nanoseconds.</summary>
    public const int Pairs = 1024;

    /// <summary>An MTU-sized buffer: 1500 bytes of Ethernet payload plus headers, rounded to 2 KiB.</summary>
    public const int BufferLength = 2048;

    /// <summary>Buffers in each pool: enough for any benchmark, small enough to stay cache-resident.</summary>
    private const int Capacity = 1024;

    private NetBufPool _cached = null!;
    private NetBufPool _uncached = null!;
    private LockedFreeList _locked = null!;
    private BareStack _bare = null!;
    private ConcurrentStack<int> _stack = null!;
    private ConcurrentBag<int> _bag = null!;
    private ConcurrentQueue<int> _queue = null!;
    private long _word;

    [GlobalSetup]
    public void Setup()
    {
        _cached = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 32 });
        _uncached = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
        _locked = new LockedFreeList(Capacity);
        _bare = new BareStack(Capacity);
        _stack = new ConcurrentStack<int>(Enumerable.Range(0, Capacity));
        _bag = new ConcurrentBag<int>(Enumerable.Range(0, Capacity));
        _queue = new ConcurrentQueue<int>(Enumerable.Range(0, Capacity));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cached.Dispose();
        _uncached.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs, Description = "ArrayPool<byte>.Shared")]
    public void ArrayPoolShared()
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        for (int i = 0; i < Pairs; i++)
        {
            pool.Return(pool.Rent(BufferLength));
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "MemoryPool<byte>.Shared")]
    public void MemoryPoolShared()
    {
        MemoryPool<byte> pool = MemoryPool<byte>.Shared;
        for (int i = 0; i < Pairs; i++)
        {
            pool.Rent(BufferLength).Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufPool, thread cache")]
    public void NetBufPoolCached()
    {
        NetBufPool pool = _cached;
        for (int i = 0; i < Pairs; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufWorker, thread cache")]
    public void NetBufWorkerCached()
    {
        // Opened once outside the loop, as a processing loop would: it binds this thread's cache.
        using var worker = _cached.OpenWorker();
        for (int i = 0; i < Pairs; i++)
        {
            using var buf = worker.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufPool, no cache")]
    public void NetBufPoolUncached()
    {
        NetBufPool pool = _uncached;
        for (int i = 0; i < Pairs; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufBox, thread cache")]
    public void NetBufBoxCached()
    {
        NetBufPool pool = _cached;
        for (int i = 0; i < Pairs; i++)
        {
            pool.AllocBoxed().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "lock-guarded free list (ArceOS design)")]
    public void LockedFreeListPair()
    {
        LockedFreeList list = _locked;
        for (int i = 0; i < Pairs; i++)
        {
            list.Free(list.Alloc());
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentStack<int> of indices")]
    public void ConcurrentStackPair()
    {
        ConcurrentStack<int> stack = _stack;
        for (int i = 0; i < Pairs; i++)
        {
            stack.TryPop(out int index);
            stack.Push(index);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentBag<int> of indices")]
    public void ConcurrentBagPair()
    {
        ConcurrentBag<int> bag = _bag;
        for (int i = 0; i < Pairs; i++)
        {
            bag.TryTake(out int index);
            bag.Add(index);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentQueue<int> of indices")]
    public void ConcurrentQueuePair()
    {
        ConcurrentQueue<int> queue = _queue;
        for (int i = 0; i < Pairs; i++)
        {
            queue.TryDequeue(out int index);
            queue.Enqueue(index);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "bare tagged Treiber stack (floor, no checks)")]
    public void BareTaggedStack()
    {
        BareStack stack = _bare;
        for (int i = 0; i < Pairs; i++)
        {
            stack.List.TryPush(stack.Slots, stack.List.Pop(stack.Slots));
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "two CAS on one long (floor without a cache)")]
    public long TwoCompareExchanges()
    {
        // Single-threaded, so every CAS succeeds: the cost of the two atomic operations a pop and
        // a push on any shared lock-free list must make.
        long value = Volatile.Read(ref _word);
        for (int i = 0; i < Pairs; i++)
        {
            Interlocked.CompareExchange(ref _word, value + 1, value);
            Interlocked.CompareExchange(ref _word, value + 2, value + 1);
            value += 2;
        }

        return value;
    }
}

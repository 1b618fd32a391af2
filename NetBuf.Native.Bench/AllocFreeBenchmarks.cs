using System.Buffers;
using BenchmarkDotNet.Attributes;
using NetBufNative.Internal;

namespace NetBufNative.Bench;

/// <summary>
/// One alloc+free pair on one thread, for each way a .NET program can get a packet buffer.
/// Each invocation runs <see cref="Pairs"/> pairs, so the loop overhead is amortized and the
/// reported time is per pair.
/// </summary>
[MemoryDiagnoser]
public class AllocFreeBenchmarks
{
    /// <summary>Pairs per invocation: enough that one invocation takes microseconds, not nanoseconds.</summary>
    private const int Pairs = 1024;

    /// <summary>A common MTU-sized buffer: 1500-byte Ethernet payload plus headers, rounded to 2 KiB.</summary>
    private const int BufferLength = 2048;

    private NetBufPool _pool = null!;
    private LockedFreeList _locked = null!;
    private BareStack _bare = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new NetBufPool(1024, BufferLength);
        _locked = new LockedFreeList(1024);
        _bare = new BareStack(1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs, Description = "ArrayPool<byte>.Shared Rent+Return")]
    public void ArrayPoolShared()
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        for (int i = 0; i < Pairs; i++)
        {
            pool.Return(pool.Rent(BufferLength));
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufPool Alloc+Dispose")]
    public void NetBufPoolAllocDispose()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Pairs; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufPool TryAlloc+Dispose")]
    public void NetBufPoolTryAllocDispose()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Pairs; i++)
        {
            if (pool.TryAlloc(out var buf))
            {
                buf.Dispose();
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NetBufPool Alloc+IntoBufPtr+FromBufPtr+Dispose")]
    public void NetBufPoolPointerRoundTrip()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Pairs; i++)
        {
            var ptr = pool.Alloc().IntoBufPtr();
            pool.FromBufPtr(ptr).Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "bare tagged Treiber stack (no handle checks)")]
    public void BareTaggedStack()
    {
        BareStack stack = _bare;
        for (int i = 0; i < Pairs; i++)
        {
            stack.List.TryPush(stack.Slots, stack.List.Pop(stack.Slots));
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

    /// <summary>The pool's free list alone: what alloc+free would cost without the ownership checks.</summary>
    internal sealed class BareStack
    {
        internal readonly BufferSlot[] Slots;
        internal IndexFreeList<AbaTaggedPolicy> List;

        internal BareStack(int capacity)
        {
            Slots = new BufferSlot[capacity];
            List.Initialize(Slots, capacity);
        }
    }
}

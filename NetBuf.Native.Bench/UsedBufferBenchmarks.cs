using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// A buffer that is actually used, not only allocated and freed: allocate, append 64 bytes of
/// payload and fill them, prepend a 14-byte Ethernet header and fill it, read the frame's length,
/// free. The baseline does the same work on an <see cref="ArrayPool{T}"/> array through spans. At 1
/// thread and at 2 threads (each its own buffers, one shared pool); the time is per buffer over all
/// threads, as in <see cref="MultiThreadBenchmarks"/>.
/// </summary>
/// <remarks>
/// Every access of the NetBuf rows is checked (the handle must still own the buffer), so this is the
/// price of that safety next to unchecked array spans. The section runs in
/// <see cref="MultiThreadBenchmarks.Rounds"/> interleaved rounds (see <see cref="RoundsFirstOrderer"/>);
/// the goal takes the median of the per-round ratios.
/// </remarks>
[MemoryDiagnoser]
public class UsedBufferBenchmarks
{
    /// <summary>Buffers per invocation, over all threads: 64 Ki amortizes the start/finish barriers.</summary>
    public const int TotalBuffers = 1 << 16;

    /// <summary>The payload appended: a minimum Ethernet frame's worth.</summary>
    private const int PayloadLength = 64;

    /// <summary>The header prepended: an untagged Ethernet header.</summary>
    private const int HeaderLength = 14;

    /// <summary>Headroom the frame starts at, in both rows (the pool's default headroom, the array offset).</summary>
    private const int Headroom = 64;

    private WorkerGang? _gang;
    private NetBufPool _pool = null!;
    private Action<int> _arrayPoolWork = null!;
    private Action<int> _workerWork = null!;

    /// <summary>Threads running at once.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Which measurement of the section this is (1 to <see cref="MultiThreadBenchmarks.Rounds"/>).</summary>
    [Params(1, 2, 3)]
    public int Round { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gang = Threads > 1 ? new WorkerGang(Threads) : null;
        _pool = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { DefaultHeadroom = Headroom, ThreadCacheSize = 32 });
        int perThread = TotalBuffers / Threads;
        _arrayPoolWork = _ => ArrayPoolBuffers(perThread);
        _workerWork = _ => WorkerBuffers(_pool, perThread);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gang?.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalBuffers, Description = "ArrayPool<byte>.Shared + spans")]
    public void ArrayPoolUsed() => Run(_arrayPoolWork);

    [Benchmark(OperationsPerInvoke = TotalBuffers, Description = "NetBufWorker: Append, Prepend, PacketWithHeader")]
    public void WorkerUsed() => Run(_workerWork);

    internal static int ArrayPoolBuffers(int count)
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        int sum = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] array = pool.Rent(SingleThreadBenchmarks.BufferLength);
            array.AsSpan(Headroom, PayloadLength).Fill((byte)i);
            array.AsSpan(Headroom - HeaderLength, HeaderLength).Fill(0xFF);
            sum += array.AsSpan(Headroom - HeaderLength, HeaderLength + PayloadLength).Length;
            pool.Return(array);
        }

        return sum;
    }

    internal static int WorkerBuffers(NetBufPool pool, int count)
    {
        // Opened once per thread and invocation, outside the loop.
        using var worker = pool.OpenWorker();
        int sum = 0;
        for (int i = 0; i < count; i++)
        {
            using var buf = worker.Alloc();
            buf.Append(PayloadLength).Fill((byte)i);
            buf.Prepend(HeaderLength).Fill(0xFF);
            sum += buf.PacketWithHeader.Length;
        }

        return sum;
    }

    private void Run(Action<int> work)
    {
        if (_gang is null)
        {
            work(0);
        }
        else
        {
            _gang.Run(work);
        }
    }
}

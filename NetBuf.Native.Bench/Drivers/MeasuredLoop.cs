using System.Diagnostics;
using NetBufNative.Processing;

namespace NetBufNative.Bench.Drivers;

/// <summary>What a loop's ports counted over a measured window, summed over the ports, and the GC bytes its thread allocated.</summary>
internal readonly record struct LoopWindow(long Received, long Transmitted, long TxFullDrops, long TxErrorDrops, long DriverRxDrops, long DriverTxDrops, long PostShortfalls, long Errors, long AllocatedBytes)
{
    public static LoopWindow Read(PacketLoop loop, long allocatedBytes) => new(
        loop.Counters.Sum(c => c.Received),
        loop.Counters.Sum(c => c.Transmitted),
        loop.Counters.Sum(c => c.TxFullDrops),
        loop.Counters.Sum(c => c.TxErrorDrops),
        loop.Counters.Sum(c => c.DriverRxDrops),
        loop.Counters.Sum(c => c.DriverTxDrops),
        loop.Counters.Sum(c => c.PostShortfalls),
        loop.Counters.Sum(c => c.Errors),
        allocatedBytes);

    public LoopWindow Since(LoopWindow before) => new(
        Received - before.Received,
        Transmitted - before.Transmitted,
        TxFullDrops - before.TxFullDrops,
        TxErrorDrops - before.TxErrorDrops,
        DriverRxDrops - before.DriverRxDrops,
        DriverTxDrops - before.DriverTxDrops,
        PostShortfalls - before.PostShortfalls,
        Errors - before.Errors,
        AllocatedBytes - before.AllocatedBytes);
}

/// <summary>
/// Runs a <see cref="PacketLoop"/> on a thread of this class's own (pinned where asked), so that the GC bytes its thread
/// allocates can be read there: a warm-up run (JIT, first-use initialization), then the measured run, each ended by
/// <see cref="PacketLoop.Stop"/> (no cancellation token: registering one allocates on the loop's thread); the counters
/// and <see cref="GC.GetAllocatedBytesForCurrentThread"/> are read on the loop's thread between and after them.
/// </summary>
internal sealed class MeasuredLoop
{
    /// <summary>How long the controller waits for the loop's thread to reach a run (it takes microseconds; far more means it is stuck).</summary>
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(10);

    private readonly PacketLoop _loop;
    private readonly int? _cpu;
    private Thread? _thread;
    private Exception? _failure;
    private int _phase;
    private LoopWindow _start;
    private LoopWindow _end;

    public MeasuredLoop(PacketLoop loop, int? cpu)
    {
        _loop = loop;
        _cpu = cpu;
    }

    /// <summary>The measured window's counts (after <see cref="EndWindow"/>).</summary>
    public LoopWindow Window => _end.Since(_start);

    /// <summary>Starts the warm-up run.</summary>
    public void Start()
    {
        _thread = new Thread(() =>
        {
            try
            {
                if (_cpu is int cpu)
                {
                    ThreadAffinity.PinCurrentThread(cpu);
                }

                _loop.Run();
                // Counters first, then the GC reading: the window's bytes are the measured run's alone.
                LoopWindow start = LoopWindow.Read(_loop, 0);
                _start = start with { AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() };
                Volatile.Write(ref _phase, 1);
                _loop.Run();
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                _end = LoopWindow.Read(_loop, allocated);
                Volatile.Write(ref _phase, 2);
            }
#pragma warning disable CA1031 // Reported on the measuring thread.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                _failure = exception;
                Volatile.Write(ref _phase, 3);
            }
        })
        { IsBackground = true, Name = _loop.Name };
        _thread.Start();
    }

    /// <summary>Ends the warm-up and waits until the measured run is under way.</summary>
    public void BeginWindow()
    {
        WaitFor(() => _loop.IsRunning);
        _loop.Stop();

        // A Stop before the next run begins would be lost (a run starts anew): wait until it is running.
        WaitFor(() => Volatile.Read(ref _phase) == 1 && _loop.IsRunning);
    }

    /// <summary>Ends the measured run and waits for the thread.</summary>
    public void EndWindow()
    {
        WaitFor(() => _loop.IsRunning || Volatile.Read(ref _phase) >= 2);
        _loop.Stop();
        if (_thread is not null && !_thread.Join(StateTimeout))
        {
            throw new InvalidOperationException($"{_loop.Name} did not stop within {StateTimeout.TotalSeconds} s");
        }

        ThrowIfFailed();
    }

    /// <summary>Stops the loop whatever its state (clean-up after a failure); waits for the thread up to the timeout.</summary>
    public void Abort()
    {
        var clock = Stopwatch.StartNew();
        while (_thread is { IsAlive: true } && clock.Elapsed < StateTimeout)
        {
            _loop.Stop();
            _ = _thread.Join(TimeSpan.FromMilliseconds(10));
        }
    }

    private void WaitFor(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            ThrowIfFailed();
            if (clock.Elapsed > StateTimeout)
            {
                throw new InvalidOperationException($"{_loop.Name} did not reach the expected state within {StateTimeout.TotalSeconds} s");
            }

            Thread.Sleep(1);
        }
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _phase) == 3)
        {
            throw new InvalidOperationException($"{_loop.Name} failed", _failure);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>Helpers shared by the regression tests: span bounds, bounded waits and worker threads.</summary>
internal static class RegressionSupport
{
    /// <summary>Whether <paramref name="span"/> lies inside buffer <paramref name="index"/> of <paramref name="pool"/>:
    /// [BufferAddress(index), BufferAddress(index) + BufferLength). Reads no byte of the span.</summary>
    public static unsafe bool IsInsideBuffer(NetBufPool pool, int index, ReadOnlySpan<byte> span)
    {
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
        nint low = pool.BufferAddress(index);
        nint high = low + pool.BufferLength;
        return start >= low && start <= high && span.Length <= high - start;
    }

    /// <summary>Records a failure when <paramref name="span"/> is not inside its buffer.</summary>
    public static unsafe void CheckInside(
        ConcurrentQueue<string> failures, NetBufPool pool, int index, ReadOnlySpan<byte> span, string what)
    {
        if (!IsInsideBuffer(pool, index, span))
        {
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
            failures.Enqueue(
                $"{what} of buffer {index} is at offset {start - pool.BufferAddress(index)}, length {span.Length}: " +
                $"outside the {pool.BufferLength}-byte buffer");
        }
    }

    /// <summary>Spins until <paramref name="condition"/> holds; false when <paramref name="deadline"/> passes first.</summary>
    public static bool SpinUntil(Func<bool> condition, Stopwatch clock, TimeSpan deadline)
    {
        var spin = default(SpinWait);
        while (!condition())
        {
            if (clock.Elapsed > deadline)
            {
                return false;
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        return true;
    }

    /// <summary>Starts one thread per body, each guarded so that an exception becomes a failure, and joins
    /// them within <paramref name="timeout"/>; a thread still running then is a failure, not a hang.</summary>
    public static void RunThreads(ConcurrentQueue<string> failures, TimeSpan timeout, params Action[] bodies)
    {
        var threads = bodies.Select(body => new Thread(() => Guard(failures, body)) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        var clock = Stopwatch.StartNew();
        foreach (Thread thread in threads)
        {
            TimeSpan left = timeout - clock.Elapsed;
            if (!thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                Assert.Fail($"a worker thread did not finish within {timeout.TotalSeconds} s");
            }
        }
    }

    /// <summary>Runs <paramref name="body"/>, turning an exception into a failure.</summary>
    public static void Guard(ConcurrentQueue<string> failures, Action body)
    {
        try
        {
            body();
        }
        catch (Exception ex)
        {
            failures.Enqueue($"a worker thread threw {ex}");
        }
    }

    /// <summary>The failures, at most <paramref name="max"/> of them, one a line, with the total.</summary>
    public static string Describe(ConcurrentQueue<string> failures, int max = 5) =>
        $"{failures.Count} failure(s):{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(max))}";
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The diagnostic mode: a write after free through a kept span, an overrun past a buffer by unsafe
/// code, and leaks are each reported with the buffer and where it was allocated and freed; a clean
/// workload on every path gives no report; the quarantine never causes exhaustion; the mode costs a
/// pool without it nothing (its caches stay on).
/// </summary>
[NonParallelizable]
public sealed class DiagnosticsTests
{
    [Test]
    public void A_span_written_after_its_buffer_was_freed_is_reported_with_where_it_was_allocated_and_freed()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = Pool(16, quarantine: 4, reports);
        Assert.That(pool.ThreadCacheSize, Is.Zero, "the mode turns the caches off");
        Span<byte> kept = AllocateAppendAndFree(pool, out int index);
        kept[3] = 0x55; // the bug: a span used after its handle was disposed

        // Push the buffer out of the quarantine (4 long) with 5 more frees.
        for (int i = 0; i < 5; i++)
        {
            pool.Alloc().Dispose();
        }

        Assert.That(reports, Has.Count.EqualTo(1));
        reports.TryDequeue(out var report);
        Assert.That(report!.Kind, Is.EqualTo(NetBufDiagnosticKind.WriteAfterFree));
        Assert.That(report.BufferIndex, Is.EqualTo(index));
        Assert.That(report.Offset, Is.EqualTo(pool.DefaultHeadroom + 3));
        Assert.That(report.AllocatedAt, Does.Contain(nameof(AllocateAppendAndFree)));
        Assert.That(report.FreedAt, Does.Contain(nameof(AllocateAppendAndFree)));
        Assert.That(report.ToString(), Does.Contain("after it was freed"));
        Assert.That(pool.GetStatistics().DiagnosticReports, Is.EqualTo(1));
    }

    [Test]
    public unsafe void Unsafe_code_writing_past_a_buffer_is_reported_when_the_buffer_comes_back()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = Pool(8, quarantine: 2, reports);
        NetBufPtr ptr = pool.Alloc().IntoBufPtr();
        byte* end = (byte*)ptr.BufferAddress + pool.BufferLength;
        end[5] = 0; // a driver's off-by-some write past the buffer
        pool.FromBufPtr(ptr).Dispose();
        Assert.That(reports.Select(r => r.Kind), Is.EqualTo(new[] { NetBufDiagnosticKind.Overflow }));
        Assert.That(reports.Single().Offset, Is.EqualTo(pool.BufferLength + 5));
        Assert.That(reports.Single().BufferIndex, Is.EqualTo(ptr.BufferIndex));
        Assert.That(pool.BufferStride, Is.GreaterThanOrEqualTo(pool.BufferLength + NetBufDiagnosticsOptions.GuardLength));
    }

    [Test]
    public void Outstanding_buffers_are_listed_and_reported_as_leaks_on_dispose()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        var pool = Pool(8, quarantine: 2, reports);
        var kept = AllocateBox(pool);
        pool.Alloc().Dispose();
        var outstanding = pool.GetOutstandingBuffers();
        Assert.That(outstanding, Has.Count.EqualTo(1));
        Assert.That(outstanding[0].Kind, Is.EqualTo(NetBufDiagnosticKind.Leak));
        Assert.That(outstanding[0].AllocatedAt, Does.Contain(nameof(AllocateBox)));
        Assert.That(outstanding[0].ToString(), Does.Contain("still out"));
        Assert.That(reports, Is.Empty, "listing is not reporting");

        pool.Dispose();
        Assert.That(reports.Single().Kind, Is.EqualTo(NetBufDiagnosticKind.Leak));
        Assert.That(pool.IsMemoryReleased, Is.False);
        kept.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True, "the quarantine's buffers were counted as back");
    }

    [Test]
    public void A_pool_collected_with_a_buffer_out_reports_the_leak()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        AbandonWithBufferOut(reports);
        for (int i = 0; i < 3 && reports.IsEmpty; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(reports.Select(r => r.Kind), Is.EqualTo(new[] { NetBufDiagnosticKind.Leak }));
        Assert.That(reports.Single().AllocatedAt, Does.Contain(nameof(AbandonWithBufferOut)));
    }

    [Test]
    public void A_clean_workload_on_every_path_reports_nothing_and_the_quarantine_never_exhausts_the_pool()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = Pool(8, quarantine: 7, reports, sampleRate: 3);
        for (int round = 0; round < 50; round++)
        {
            var all = new List<NetBufBox>();
            for (int i = 0; i < 8; i++)
            {
                Assert.That(pool.TryAllocBoxed(out var box), Is.True, "7 of 8 free buffers in quarantine must still be allocatable");
                box.AsNetBuf().Append(100).Fill(1);
                all.Add(box);
            }

            all.ForEach(b => b.Dispose());
            var ring = new NetBufPtr[8];
            Assert.That(pool.TryAllocBulk(ring), Is.True);
            pool.FreeBulk(ring);
            using var worker = pool.OpenWorker();
            using (var batch = worker.AllocBatch(4))
            {
                batch[0].Append(10);
            }

            Assert.That(pool.InUse, Is.Zero);
            Assert.That(pool.Available + pool.GetStatistics().InUse, Is.LessThanOrEqualTo(8));
        }

        Assert.That(reports, Is.Empty);
        Assert.That(pool.GetOutstandingBuffers(), Is.Empty);
    }

    [Test]
    public void Threads_churning_in_diagnostic_mode_find_no_false_report()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = Pool(32, quarantine: 8, reports, sampleRate: 0);
        var failures = new ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            for (int i = 0; i < 5000; i++)
            {
                if (pool.TryAlloc(out var buf))
                {
                    buf.Append(64).Fill(7);
                    buf.Dispose();
                }
            }
        }))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(failures, Is.Empty);
        Assert.That(reports, Is.Empty);
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Bulk_takes_on_two_threads_never_fail_while_enough_buffers_are_free_some_in_quarantine()
    {
        // The review's case: 2 threads x 4 of 8 buffers never exceed the pool, so every take must
        // succeed; a buffer between the quarantine and the free list made some fail.
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = Pool(8, quarantine: 4, reports, sampleRate: 0);
        var failures = new ConcurrentQueue<string>();
        long refused = 0;
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            var boxes = new NetBufBox[4];
            for (int i = 0; i < 20_000; i++)
            {
                if (!pool.TryAllocBulk(boxes))
                {
                    Interlocked.Increment(ref refused);
                    continue;
                }

                pool.FreeBulk(boxes);
            }
        }))).ToList();
        threads.ForEach(t => t.Start());
        Assert.That(threads.All(t => t.Join(TimeSpan.FromSeconds(60))), Is.True, "finished");
        Assert.That(failures, Is.Empty);
        Assert.That(Interlocked.Read(ref refused), Is.Zero);
        Assert.That(reports, Is.Empty);
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Without_the_mode_nothing_changes_and_bad_options_are_rejected()
    {
        using var plain = new NetBufPool(1024, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        Assert.That(plain.ThreadCacheSize, Is.EqualTo(16));
        Assert.That(plain.BufferStride, Is.EqualTo(2048), "no guard bytes");
        Assert.That(plain.GetStatistics().DiagnosticReports, Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(4, 2048, new NetBufPoolOptions { Diagnostics = new() { QuarantineLength = 4 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(4, 2048, new NetBufPoolOptions { Diagnostics = new() { QuarantineLength = -1 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(4, 2048, new NetBufPoolOptions { Diagnostics = new() { QuarantineLength = 1, StackTraceSampleRate = -1 } }));
    }

    [Test]
    public void A_throwing_report_callback_does_not_break_the_pool()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions
        {
            Diagnostics = new() { QuarantineLength = 1, OnReport = _ => throw new InvalidOperationException("callback bug") },
        });
        var ptr = pool.Alloc().IntoBufPtr();
        unsafe
        {
            ((byte*)ptr.BufferAddress)[pool.BufferLength] = 1;
        }

        pool.FromBufPtr(ptr).Dispose();
        Assert.That(pool.GetStatistics().DiagnosticReports, Is.EqualTo(1));
        Assert.That(pool.InUse, Is.Zero);
    }

    private static NetBufPool Pool(int capacity, int quarantine, ConcurrentQueue<NetBufDiagnostic> reports, int sampleRate = 1) =>
        new(capacity, 2048, new NetBufPoolOptions
        {
            DefaultHeadroom = 32,
            Name = "diag",
            Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = quarantine, StackTraceSampleRate = sampleRate, OnReport = reports.Enqueue },
        });

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Span<byte> AllocateAppendAndFree(NetBufPool pool, out int index)
    {
        var buf = pool.Alloc();
        index = buf.BufferIndex;
        Span<byte> span = buf.Append(10);
        span.Fill(1);
        buf.Dispose();
        return span;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static NetBufBox AllocateBox(NetBufPool pool) => pool.AllocBoxed();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AbandonWithBufferOut(ConcurrentQueue<NetBufDiagnostic> reports)
    {
        var pool = new NetBufPool(4, 2048, new NetBufPoolOptions
        {
            Diagnostics = new() { QuarantineLength = 1, OnReport = reports.Enqueue },
        });
        _ = pool.AllocBoxed();
    }
}

using NetBufNative.Drivers;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Processing;

/// <summary>The pinning of a loop's thread: a CPU the process may not use is refused with a message saying what to do.</summary>
public sealed class ThreadAffinityTests
{
    [Test]
    public void A_cpu_the_process_may_not_use_is_refused_with_advice_and_the_thread_keeps_its_affinity()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Throws<PlatformNotSupportedException>(() => ThreadAffinity.PinCurrentThread(0));
            return;
        }

        Exception? failure = null;
        string? before = null;
        string? after = null;
        var thread = new Thread(() =>
        {
            before = Allowed();
            try
            {
                // CPU 1023: inside the mask, but no machine this runs on has it.
                ThreadAffinity.PinCurrentThread(1023);
            }
            catch (Exception e)
            {
                failure = e;
            }

            after = Allowed();
        });
        thread.Start();
        Assert.That(thread.Join(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(failure, Is.TypeOf<NetDriverException>());
        Assert.That(failure!.Message, Does.Contain("sched_setaffinity failed for CPU 1023: EINVAL").And.Contain("PacketLoopOptions.Cpu"));
        Assert.That(after, Is.EqualTo(before), "unchanged");
        Assert.Throws<ArgumentOutOfRangeException>(() => ThreadAffinity.PinCurrentThread(1024));
    }

    private static string Allowed() =>
        File.ReadLines("/proc/thread-self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
}

using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Bounded waits for the concurrency tests: a thread or task that does not finish fails the test
/// with a message instead of hanging the suite.
/// </summary>
internal static class Deadlines
{
    /// <summary>Long enough for any of these tests on a loaded 2-core machine (they run for seconds),
    /// short enough that a hang costs CI half a minute, not its whole time limit.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>Joins <paramref name="thread"/> within <see cref="Default"/>.</summary>
    public static void Join(Thread thread)
    {
        if (!thread.Join(Default))
        {
            Assert.Fail($"thread {thread.Name ?? thread.ManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture)} did not finish within {Default.TotalSeconds} s");
        }
    }

    /// <summary>Joins every thread, all within <see cref="Default"/> in total.</summary>
    public static void JoinAll(IEnumerable<Thread> threads)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (Thread thread in threads)
        {
            TimeSpan left = Default - clock.Elapsed;
            if (!thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                Assert.Fail($"a thread did not finish within {Default.TotalSeconds} s");
            }
        }
    }

    /// <summary>Waits for <paramref name="task"/> within <see cref="Default"/>.</summary>
    public static void Wait(Task task) =>
        Assert.That(task.Wait(Default), Is.True, $"a task did not finish within {Default.TotalSeconds} s");

    /// <summary>Waits for every task within <see cref="Default"/>.</summary>
    public static void WaitAll(params Task[] tasks) =>
        Assert.That(Task.WaitAll(tasks, Default), Is.True, $"the tasks did not finish within {Default.TotalSeconds} s");

    /// <summary>Waits for <paramref name="signal"/> within <see cref="Default"/>.</summary>
    public static void Wait(ManualResetEventSlim signal) =>
        Assert.That(signal.Wait(Default), Is.True, $"a signal did not come within {Default.TotalSeconds} s");

    /// <summary>Waits for <paramref name="countdown"/> within <see cref="Default"/>.</summary>
    public static void Wait(CountdownEvent countdown) =>
        Assert.That(countdown.Wait(Default), Is.True, $"a countdown did not finish within {Default.TotalSeconds} s");
}

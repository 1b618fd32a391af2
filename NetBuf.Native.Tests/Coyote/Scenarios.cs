using Microsoft.Coyote.Specifications;

namespace NetBufNative.CoyoteTests;

/// <summary>Helpers for scenarios: tasks started and awaited in a way Coyote controls.</summary>
internal static class Scenarios
{
    /// <summary>Runs the bodies as concurrent tasks and awaits each (not <c>Task.WhenAll(a, b)</c>,
    /// which on .NET 9+ binds to a span overload that Coyote does not control).</summary>
    public static async Task RunConcurrently(params Action[] bodies)
    {
        var tasks = new Task[bodies.Length];
        for (int i = 0; i < bodies.Length; i++)
        {
            tasks[i] = Task.Run(bodies[i]);
        }

        foreach (Task task in tasks)
        {
            await task;
        }
    }

    /// <summary>Marks buffer <paramref name="index"/> as held by <paramref name="who"/>; a buffer held
    /// twice is a bug.</summary>
    public static void Take(int[] holders, int index, int who)
    {
        int previous = Interlocked.Exchange(ref holders[index], who);
        Specification.Assert(previous == 0, $"buffer {index} handed to task {who} while task {previous} held it");
    }

    /// <summary>Marks buffer <paramref name="index"/> as no longer held.</summary>
    public static void Release(int[] holders, int index) => Interlocked.Exchange(ref holders[index], 0);

    /// <summary>Runs <paramref name="action"/>; true if it succeeded, false if it threw one of the
    /// documented misuse exceptions (stale handle, already restored).</summary>
    public static bool Attempt(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

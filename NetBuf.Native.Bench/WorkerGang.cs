namespace NetBufNative.Bench;

/// <summary>
/// Threads started once and reused by every invocation, so that thread start is never measured:
/// <see cref="Run"/> releases them all at once on the same work and returns when all are done.
/// </summary>
public sealed class WorkerGang : IDisposable
{
    private readonly Thread[] _threads;
    private readonly Barrier _start;
    private readonly Barrier _finish;
    private Action<int> _work = static _ => { };
    private volatile bool _stopping;

    /// <summary>Starts <paramref name="count"/> background threads, parked.</summary>
    public WorkerGang(int count)
    {
        _start = new Barrier(count + 1);
        _finish = new Barrier(count + 1);
        _threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int id = i;
            _threads[i] = new Thread(() => Loop(id)) { IsBackground = true, Name = $"gang-{id}" };
            _threads[i].Start();
        }
    }

    /// <summary>Runs <paramref name="work"/>(thread number) on every thread and waits for all.</summary>
    public void Run(Action<int> work)
    {
        _work = work;
        _start.SignalAndWait();
        _finish.SignalAndWait();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping = true;
        _start.SignalAndWait();
        foreach (Thread thread in _threads)
        {
            thread.Join();
        }

        _start.Dispose();
        _finish.Dispose();
    }

    private void Loop(int id)
    {
        while (true)
        {
            _start.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            _work(id);
            _finish.SignalAndWait();
        }
    }
}

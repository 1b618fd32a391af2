using System.Globalization;
using System.Text;
using BenchmarkDotNet.Loggers;

namespace NetBufNative.Bench;

/// <summary>
/// The run's full log file: everything BenchmarkDotNet logs (through <see cref="Logger"/>, the only
/// logger in the config), everything the program prints, and anything a benchmark writes to the
/// console while BenchmarkDotNet runs (<see cref="CaptureConsole"/>). The console gets only what a
/// person reads: the tables, the targets and a progress line (<see cref="Screen"/>).
/// </summary>
internal sealed class RunLog : IDisposable
{
    private readonly TextWriter _file;
    private readonly TextWriter _screen;
    private readonly TextWriter _both;
    private readonly FileLogger _logger;

    private RunLog(string path, TextWriter screen)
    {
        Path = path;
        var stream = new StreamWriter(path, append: false, new UTF8Encoding(false)) { AutoFlush = true };
        _file = TextWriter.Synchronized(stream);
        _screen = screen;
        _both = TextWriter.Synchronized(new TeeWriter(screen, _file));
        _logger = new FileLogger(_file);
    }

    /// <summary>The absolute path of the log file.</summary>
    public string Path { get; }

    /// <summary>The BenchmarkDotNet logger that writes to the file.</summary>
    public ILogger Logger => _logger;

    /// <summary>The real console, for the progress line (not logged).</summary>
    public TextWriter Screen => _screen;

    /// <summary>The file alone (the tables only the log keeps).</summary>
    public TextWriter File => _file;

    /// <summary>Opens a new log under <c>BenchmarkDotNet.Artifacts</c> in the current directory and makes
    /// <see cref="Console.Out"/> write to both the console and the file.</summary>
    public static RunLog Open(string name)
    {
        string directory = System.IO.Path.GetFullPath("BenchmarkDotNet.Artifacts");
        Directory.CreateDirectory(directory);
        string stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var log = new RunLog(System.IO.Path.Combine(directory, $"{name}-{stamp}.log"), Console.Out);
        Console.SetOut(log._both);
        return log;
    }

    /// <summary>Sends <see cref="Console.Out"/> to the file alone until disposed (while BenchmarkDotNet runs:
    /// a benchmark's set-up that prints goes to the log, not between the progress lines).</summary>
    /// <summary>The innermost exception line ("Type: message") BenchmarkDotNet logged since the
    /// last call, or null; clears the record.</summary>
    public string? TakeLastException() => _logger.TakeLastException();

    public IDisposable CaptureConsole()
    {
        Console.SetOut(_file);
        return new Restore(() => Console.SetOut(_both));
    }

    public void Dispose()
    {
        Console.SetOut(_screen);
        _file.Dispose();
    }

    private sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>Writes every character to two writers.</summary>
    private sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
    {
        public override Encoding Encoding => first.Encoding;

        public override void Write(char value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void Write(string? value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void WriteLine(string? value)
        {
            first.WriteLine(value);
            second.WriteLine(value);
        }

        public override void Flush()
        {
            first.Flush();
            second.Flush();
        }
    }

    /// <summary>A BenchmarkDotNet logger over a text writer (its own <c>StreamLogger</c> takes a path or a
    /// <see cref="StreamWriter"/>, and this one shares the synchronized writer with the program).</summary>
    private sealed class FileLogger(TextWriter writer) : ILogger
    {
        public string Id => "NetBufRunLog";

        public int Priority => 0;

        private string? _lastException;

        public void Write(LogKind logKind, string text)
        {
            Remember(text);
            writer.Write(text);
        }

        public void WriteLine() => writer.WriteLine();

        public void WriteLine(LogKind logKind, string text)
        {
            Remember(text);
            writer.WriteLine(text);
        }

        public string? TakeLastException() => Interlocked.Exchange(ref _lastException, null);

        private void Remember(string text)
        {
            // The in-process engine logs a benchmark's exception as plain output, so every kind is looked at.
            if (!text.Contains("Exception", StringComparison.Ordinal))
            {
                return;
            }

            // An exception's text: the innermost "---> Type: message" line, or its first line.
            string? line = text.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("--->", StringComparison.Ordinal))
                ?? text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("Exception", StringComparison.Ordinal));
            if (line is not null)
            {
                _lastException = line.TrimStart('-', '>', ' ');
            }
        }

        public void Flush() => writer.Flush();
    }
}

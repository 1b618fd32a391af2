using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace NetBufNative.Tests.Consumers;

/// <summary>
/// Kestrel (ASP.NET Core 10) with a <see cref="NetBufPool"/> as its memory pool, handed over as an
/// <see cref="IMemoryPoolFactory{T}"/> in dependency injection: concurrent HTTP echo of large
/// bodies over loopback. Its socket transport sends multi-segment responses with
/// <c>SocketAsyncEventArgs.BufferList</c>, which takes array segments: a native block fails there,
/// a <see cref="NetBufBlockMemory.PinnedArray"/> block works.
/// </summary>
[NonParallelizable]
public sealed class KestrelConsumerTests
{
    /// <summary>Concurrent clients, as in the report.</summary>
    private const int Clients = 8;

    /// <summary>1 MiB bodies: far more than one segment, so every response is a multi-segment send.</summary>
    private const int BodyLength = 1 << 20;

    /// <summary>Kestrel's own block size (its pinned block pool's), so the pool is a drop-in.</summary>
    private const int BufferLength = 4096;

    /// <summary>
    /// Room for every connection's pipes at once: Kestrel pauses a request body at 1 MiB
    /// (MaxRequestBufferSize, 256 buffers) and a response at 64 KiB (MaxResponseBufferSize, 16
    /// buffers), so 8 connections need at most about 2,200; twice that leaves the thread caches
    /// room too.
    /// </summary>
    private const int Capacity = 4096;

    [Test]
    [CancelAfter(60_000)]
    public async Task Kestrel_echoes_large_bodies_through_a_pinned_array_pool_and_returns_every_buffer(CancellationToken cancel)
    {
        using var pool = new NetBufPool(Capacity, BufferLength,
            new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, Name = "kestrel" });
        var log = new ConcurrentQueue<string>();
        var factory = new PoolFactory(pool);

        await using (WebApplication app = await StartEcho(factory, log))
        {
            using var client = new HttpClient { BaseAddress = ServerAddress(app), Timeout = TimeSpan.FromSeconds(30) };
            Exception?[] failures = await PostConcurrently(client, cancel);
            Assert.That(failures, Is.All.Null, string.Join('\n', failures.Where(f => f is not null)) + string.Join('\n', log));
            Assert.That(factory.Created, Is.Positive, "Kestrel created its pools through the factory");
            Assert.That(pool.GetStatistics().TotalAllocations, Is.GreaterThan(2 * Clients * BodyLength / BufferLength),
                "every request and response byte went through pool buffers");

            // The connections are still open (keep-alive) and idle: Kestrel gives its buffers back
            // (an idle connection waits for data with a zero-byte read before renting one). That
            // usually shows at once; under a loaded test run it can take a while, so it is only
            // reported here, and the count is asserted once the server has stopped.
            var idle = System.Diagnostics.Stopwatch.StartNew();
            while (pool.InUse != 0 && idle.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(10, cancel);
            }

            TestContext.Out.WriteLine($"buffers out with idle keep-alive connections after {idle.Elapsed.TotalMilliseconds:F0} ms: {pool.InUse}");
            await app.StopAsync(cancel);
        }

        await WaitUntil(() => pool.InUse == 0, cancel);
        Assert.That(pool.InUse, Is.Zero, "every buffer back once the server stopped");
        Assert.That(pool.GetStatistics().AllocationFailures, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Kestrel_fails_every_large_response_with_a_native_block(CancellationToken cancel)
    {
        using var pool = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { Name = "kestrel-native" });
        var log = new ConcurrentQueue<string>();

        await using (WebApplication app = await StartEcho(new PoolFactory(pool), log))
        {
            using var client = new HttpClient { BaseAddress = ServerAddress(app), Timeout = TimeSpan.FromSeconds(30) };
            Exception?[] failures = await PostConcurrently(client, cancel);
            Assert.That(failures, Is.All.Not.Null, "the socket transport cannot send native memory as a buffer list");
            await WaitUntil(() => log.Any(m => m.Contains("Buffer backed by array was expected", StringComparison.Ordinal)), cancel);
            await app.StopAsync(cancel);
        }

        Assert.That(pool.InUse, Is.Zero, "the aborted connections gave their buffers back too");
    }

    private static async Task<WebApplication> StartEcho(PoolFactory factory, ConcurrentQueue<string> log)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(factory);
        builder.Logging.AddProvider(new CollectingLoggerProvider(log));
        WebApplication app = builder.Build();
        app.Run(async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted);
        });
        await app.StartAsync();
        return app;
    }

    private static Uri ServerAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    /// <summary>Posts a different random body from each client at once; null where the echo came back byte for byte.</summary>
    private static async Task<Exception?[]> PostConcurrently(HttpClient client, CancellationToken cancel)
    {
        return await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            byte[] body = new byte[BodyLength];
            new Random(i).NextBytes(body);
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using HttpResponseMessage response = await client.PostAsync(new Uri("/echo", UriKind.Relative), content, cancel);
                response.EnsureSuccessStatusCode();
                byte[] echoed = await response.Content.ReadAsByteArrayAsync(cancel);
                return echoed.AsSpan().SequenceEqual(body) ? null : new InvalidDataException($"client {i}: the echo differs ({echoed.Length} bytes)");
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                return (Exception?)e;
            }
        }));
    }

    private static async Task WaitUntil(Func<bool> condition, CancellationToken cancel)
    {
        while (!condition())
        {
            await Task.Delay(10, cancel);
        }
    }

    /// <summary>What the application registers: every pool Kestrel creates is a view of one <see cref="NetBufPool"/>.</summary>
    private sealed class PoolFactory(NetBufPool pool) : IMemoryPoolFactory<byte>
    {
        private int _created;

        public int Created => Volatile.Read(ref _created);

        public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
        {
            Interlocked.Increment(ref _created);
            return new NetBufMemoryPool(pool);
        }
    }

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collector(log);

        public void Dispose()
        {
        }

        private sealed class Collector(ConcurrentQueue<string> log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

/// <summary>
/// The L2 forwarder as a bridge between two hosts in namespaces of their own, over every driver kind: the hosts' kernels
/// talk through our process with offloads left on (ping, UDP both ways byte for byte, a multi-megabyte TCP transfer),
/// the loop's counters match the kernel's, and every buffer is back in the pool once the loop stops and the ports are
/// disposed.
/// </summary>
[TestFixtureSource(typeof(BridgeRig), nameof(BridgeRig.Kinds))]
[NonParallelizable]
public sealed class L2ForwarderBridgeTests(string kind)
{
    private BridgeRig _rig = null!;
    private PacketLoop _loop = null!;

    [SetUp]
    public void SetUp()
    {
        _rig = BridgeRig.Create(kind);
        _loop = L2Forwarder.CreateLoop(_rig.PortA, _rig.PortB, new PacketLoopOptions { Name = "bridge-" + kind });
        _ = _loop.Start();
    }

    [TearDown]
    public void TearDown()
    {
        _loop?.Dispose();
        _rig?.Dispose();
    }

    [Test]
    public void Ping_and_UDP_cross_the_bridge_both_ways_and_the_counters_match_the_kernels()
    {
        string ping = _rig.HostA.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", BridgeRig.AddressB);
        Assert.That(ping, Does.Contain("3 received"), ping);

        using Socket server = Udp(_rig.HostB, BridgeRig.AddressB, 9000);
        using Socket client = Udp(_rig.HostA, BridgeRig.AddressA, 9001);
        client.Connect(IPAddress.Parse(BridgeRig.AddressB), 9000);
        var random = new Random(5);
        var buffer = new byte[2048];
        for (int i = 0; i < 40; i++)
        {
            byte[] payload = new byte[1 + random.Next(1400)];
            random.NextBytes(payload);
            client.Send(payload);
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int length = server.ReceiveFrom(buffer, ref from);
            Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(payload), $"datagram {i} A to B, byte for byte");
            _ = server.SendTo(buffer.AsSpan(0, length), from);
            length = client.Receive(buffer);
            Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(payload), $"datagram {i} B to A");
        }

        WaitForQuiet();
        AssertCountersMatchTheKernels();
    }

    [Test]
    public void A_multi_megabyte_TCP_transfer_crosses_the_bridge_intact()
    {
        const int Size = 4 << 20;
        byte[] data = new byte[Size];
        new Random(7).NextBytes(data);
        using Socket listener = Tcp(_rig.HostB);
        listener.Bind(new IPEndPoint(IPAddress.Parse(BridgeRig.AddressB), 9100));
        listener.Listen(1);
        var receiver = Task.Run(() =>
        {
            using Socket connection = listener.Accept();
            connection.ReceiveTimeout = 30_000;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var chunk = new byte[65536];
            long total = 0;
            int n;
            while ((n = connection.Receive(chunk)) > 0)
            {
                hash.AppendData(chunk, 0, n);
                total += n;
            }

            return (total, hash.GetHashAndReset());
        });

        using (Socket sender = Tcp(_rig.HostA))
        {
            sender.SendTimeout = 30_000;
            sender.Connect(IPAddress.Parse(BridgeRig.AddressB), 9100);
            sender.Send(data);
            sender.Shutdown(SocketShutdown.Send);
            Assert.That(receiver.Wait(TimeSpan.FromSeconds(60)), Is.True, $"the transfer ended; {Describe()}");
        }

        (long received, byte[] digest) = receiver.Result;
        Assert.That(received, Is.EqualTo(Size), Describe());
        Assert.That(digest, Is.EqualTo(SHA256.HashData(data)), "byte for byte");
        StopAndCheckEveryBufferIsBack();
    }

    [Test]
    public void Stopping_the_loop_and_disposing_the_ports_returns_every_buffer()
    {
        string ping = _rig.HostA.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", BridgeRig.AddressB);
        Assert.That(ping, Does.Contain("2 received"), ping);
        StopAndCheckEveryBufferIsBack();
    }

    private void StopAndCheckEveryBufferIsBack()
    {
        _loop.Stop();
        Assert.That(_loop.Completion!.Wait(TimeSpan.FromSeconds(5)), Is.True, "the loop stopped");
        _rig.DisposePorts();
        Assert.That(_rig.Pool.InUse, Is.Zero, "every buffer is back");
    }

    /// <summary>Each direction: every frame the sending host's interface sent reached our port (received, or dropped
    /// by the driver) and every frame our egress port sent reached the other host.</summary>
    private void AssertCountersMatchTheKernels()
    {
        PacketPortCounters a = _loop.Counters[0];
        PacketPortCounters b = _loop.Counters[1];
        long sentByA = BridgeRig.KernelCounter(_rig.HostA, _rig.DeviceA, "tx_packets");
        long sentByB = BridgeRig.KernelCounter(_rig.HostB, _rig.DeviceB, "tx_packets");
        long receivedByA = BridgeRig.KernelCounter(_rig.HostA, _rig.DeviceA, "rx_packets");
        long receivedByB = BridgeRig.KernelCounter(_rig.HostB, _rig.DeviceB, "rx_packets");
        Assert.That(a.Received + a.DriverRxDrops + a.KernelRxDrops, Is.EqualTo(sentByA), $"A's frames reached port A: {a}");
        Assert.That(b.Received + b.DriverRxDrops + b.KernelRxDrops, Is.EqualTo(sentByB), $"B's frames reached port B: {b}");
        Assert.That(b.Transmitted - b.DriverTxDrops, Is.EqualTo(receivedByB), $"port B's frames reached B: {b}");
        Assert.That(a.Transmitted - a.DriverTxDrops, Is.EqualTo(receivedByA), $"port A's frames reached A: {a}");
        Assert.That(a.HandlerDrops + a.TxFullDrops + a.TxErrorDrops + b.HandlerDrops + b.TxFullDrops + b.TxErrorDrops, Is.Zero, Describe());
    }

    /// <summary>Waits until the counters stop moving (the last replies crossed).</summary>
    private void WaitForQuiet()
    {
        long last = -1;
        for (int i = 0; i < 50; i++)
        {
            long now = _loop.Counters[0].Received + _loop.Counters[1].Received + _loop.Counters[0].Transmitted + _loop.Counters[1].Transmitted;
            if (now == last)
            {
                return;
            }

            last = now;
            Thread.Sleep(100);
        }
    }

    private string Describe() => $"{_loop.Counters[0]}; {_loop.Counters[1]}";

    private static Socket Udp(Drivers.Linux.TestNamespace ns, string address, int port)
    {
        Socket socket = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        socket.ReceiveTimeout = 5000;
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), port));
        return socket;
    }

    private static Socket Tcp(Drivers.Linux.TestNamespace ns) =>
        NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
}

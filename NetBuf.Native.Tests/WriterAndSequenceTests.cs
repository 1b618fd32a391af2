using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class WriterAndSequenceTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() => _pool = new NetBufPool(4, 2048, new NetBufPoolOptions { DefaultHeadroom = 64 });

    [TearDown]
    public void DisposePool()
    {
        Assert.That(_pool.InUse, Is.Zero, "every test returns its buffers");
        _pool.Dispose();
    }

    [Test]
    public void Utf8JsonWriter_writes_a_packet_straight_into_pool_memory()
    {
        var box = _pool.AllocBoxed();
        var writer = new NetBufWriter(box);
        using (var json = new Utf8JsonWriter(writer))
        {
            json.WriteStartObject();
            json.WriteString("proto", "udp");
            json.WriteNumber("port", 5353);
            json.WriteEndObject();
        }

        var buf = box.AsNetBuf();
        Assert.That(writer.WrittenCount, Is.EqualTo(buf.PacketLength));
        Assert.That(System.Text.Encoding.UTF8.GetString(buf.Packet), Is.EqualTo("{\"proto\":\"udp\",\"port\":5353}"));
        Assert.That(buf.Headroom, Is.EqualTo(64), "the headroom is kept for headers");
        Assert.That(writer.Box, Is.EqualTo(box));
        box.Dispose();
    }

    [Test]
    public void BinaryPrimitives_through_GetSpan_and_Advance_grow_the_packet()
    {
        var box = _pool.AllocBoxed();
        var writer = new NetBufWriter(box);
        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), 0xDEADBEEF);
        writer.Advance(4);
        BinaryPrimitives.WriteUInt16BigEndian(writer.GetMemory(2).Span, 0x0800);
        writer.Advance(2);
        var buf = box.AsNetBuf();
        Assert.That(buf.PacketLength, Is.EqualTo(6));
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(buf.Packet), Is.EqualTo(0xDEADBEEF));
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(buf.Packet[4..]), Is.EqualTo(0x0800));
        box.Dispose();
    }

    [Test]
    public void Hints_past_the_tailroom_get_a_staging_array_and_writes_that_do_not_fit_fail_in_Advance()
    {
        var box = _pool.AllocBoxed();
        var writer = new NetBufWriter(box);
        int tailroom = 2048 - 64;
        Assert.That(writer.GetSpan().Length, Is.EqualTo(tailroom));
        Assert.That(writer.GetMemory(tailroom).Length, Is.EqualTo(tailroom));
        Assert.That(writer.GetSpan(tailroom + 1).Length, Is.GreaterThanOrEqualTo(tailroom + 1), "a hint is a minimum");
        Assert.That(writer.GetMemory(4096).Length, Is.GreaterThanOrEqualTo(4096), "Utf8JsonWriter's growth hint");
        Assert.Throws<InvalidOperationException>(() => writer.Advance(tailroom + 1));
        Assert.That(writer.WrittenCount, Is.Zero, "a failed Advance appends nothing");
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetSpan(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(int.MaxValue), "more than was handed out");

        writer.GetSpan(tailroom);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(tailroom + 1), "more than the tailroom handed out");
        writer.Advance(tailroom);
        Assert.That(writer.WrittenCount, Is.EqualTo(tailroom));

        Assert.That(writer.GetSpan().Length, Is.Positive, "a full packet still hands out a non-empty span for hint 0");
        Assert.That(writer.GetMemory(0).Length, Is.Positive);
        writer.Advance(0);
        writer.GetSpan(1)[0] = 1;
        Assert.Throws<InvalidOperationException>(() => writer.Advance(1));
        Assert.That(writer.WrittenCount, Is.EqualTo(tailroom));
        box.Dispose();
    }

    [Test]
    public void A_writer_over_a_disposed_box_throws_and_Reset_reuses_it()
    {
        var writer = new NetBufWriter();
        Assert.Throws<InvalidOperationException>(() => writer.GetSpan());
        var first = _pool.AllocBoxed();
        writer.Reset(first);
        writer.Advance(0);
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
        Assert.Throws<ObjectDisposedException>(() => writer.Reset(first));
        var second = _pool.AllocBoxed();
        writer.Reset(second);
        writer.GetSpan(3)[..3].Fill(1);
        writer.Advance(3);
        Assert.That(second.AsNetBuf().PacketLength, Is.EqualTo(3));
        second.Dispose();
    }

    [Test]
    public void A_received_packet_reads_as_memory_and_sequence()
    {
        using var buf = _pool.Alloc();
        buf.Append(6).Clear();
        BinaryPrimitives.WriteUInt16BigEndian(buf.Packet[4..], 0x86DD);

        ReadOnlySequence<byte> sequence = buf.PacketSequence;
        Assert.That(sequence.IsSingleSegment, Is.True);
        Assert.That(sequence.Length, Is.EqualTo(6));
        var reader = new SequenceReader<byte>(sequence);
        reader.Advance(4);
        Assert.That(reader.TryReadBigEndian(out short etherType), Is.True);
        Assert.That((ushort)etherType, Is.EqualTo(0x86DD));

        Memory<byte> memory = buf.PacketMemory;
        Assert.That(memory.Length, Is.EqualTo(6));
        memory.Span[0] = 9;
        Assert.That(buf.Packet[0], Is.EqualTo(9), "the memory is the packet, not a copy");
    }

    [Test]
    public void Packet_memory_of_a_stale_handle_throws()
    {
        var buf = _pool.Alloc();
        var copy = buf;
        buf.Dispose();
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.PacketMemory);
        Expect.Throws<ObjectDisposedException>(copy, static (ref NetBuf b) => _ = b.PacketSequence);
    }
}

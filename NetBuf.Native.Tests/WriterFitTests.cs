using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// <see cref="NetBufWriter"/> under the serializers users plug into it: every document that fits
/// the tailroom is written whole, whatever the size hints, and one that does not fit fails and is
/// undone whole with <see cref="NetBufWriter.Rollback"/>.
/// </summary>
public sealed class WriterFitTests
{
    /// <summary>
    /// Tailrooms around <c>Utf8JsonWriter</c>'s first hint (256) and growth hint (4096), and the
    /// ones of the issue's report (148 bytes, 2047 bytes).
    /// </summary>
    private static readonly int[] s_tailrooms = [0, 1, 2, 148, 255, 256, 257, 1000, 2047, 4095, 4096, 4097, 9000];

    [Test]
    public void Utf8JsonWriter_writes_every_document_up_to_the_tailroom_and_none_beyond()
    {
        // One pool whose buffers hold the largest tailroom; smaller tailrooms are made by appending
        // a prefix first, which also checks that what the packet held is kept.
        using var pool = new NetBufPool(2, 9000 + 16, new NetBufPoolOptions { DefaultHeadroom = 16 });
        var writer = new NetBufWriter();
        foreach (int tailroom in s_tailrooms)
        {
            int prefix = 9000 - tailroom;
            var sizes = Enumerable.Range(1, Math.Min(tailroom, 300))
                .Concat(Enumerable.Range(Math.Max(1, tailroom - 300), Math.Min(tailroom, 300)))
                .Concat(Enumerable.Range(tailroom + 1, 5))
                .Concat([tailroom + 4096, tailroom + 10_000])
                .Distinct();
            foreach (int size in sizes)
            {
                foreach (bool manyTokens in new[] { false, true })
                {
                    using NetBufBox box = pool.AllocBoxed();
                    box.AsNetBuf().Append(prefix).Fill((byte)'#');
                    writer.Reset(box);
                    byte[] expected = Document(size, manyTokens, out Action<Utf8JsonWriter> write);

                    bool written = TryWrite(writer, write);

                    NetBuf packet = box.AsNetBuf();
                    string where = $"tailroom {tailroom}, document of {size} bytes ({(manyTokens ? "many tokens" : "one string")})";
                    Assert.That(written, Is.EqualTo(size <= tailroom), where);
                    if (written)
                    {
                        Assert.That(packet.PacketLength, Is.EqualTo(prefix + size), where);
                        Assert.That(packet.Packet[prefix..].SequenceEqual(expected), Is.True, where);
                    }
                    else
                    {
                        Assert.That(packet.PacketLength, Is.EqualTo(prefix), "rolled back: " + where);
                    }

                    Assert.That(packet.Packet[..prefix].IndexOfAnyExcept((byte)'#'), Is.EqualTo(-1), "the prefix is untouched: " + where);
                }
            }
        }
    }

    [Test]
    public void JsonSerializer_writes_into_the_packet_and_a_document_too_large_rolls_back()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 64 });
        using NetBufBox box = pool.AllocBoxed();
        var writer = new NetBufWriter(box);

        JsonSerializer.Serialize(new Utf8JsonWriter(writer), new { Seq = 7, Text = new string('a', 1900) });
        Assert.That(writer.WrittenCount, Is.EqualTo(1919));
        Assert.That(JsonDocument.Parse(box.AsNetBuf().PacketMemory).RootElement.GetProperty("Seq").GetInt32(), Is.EqualTo(7));

        writer.Checkpoint();
        Assert.Throws<InvalidOperationException>(() =>
        {
            using var json = new Utf8JsonWriter(writer);
            JsonSerializer.Serialize(json, Enumerable.Range(0, 100).ToArray());
        });
        Assert.That(writer.WrittenCount, Is.EqualTo(1919), "the failed Advance appended nothing");
        writer.Rollback();
        Assert.That(writer.WrittenCount, Is.EqualTo(1919), "back to the checkpoint");
    }

    [Test]
    public void BinaryPrimitives_fill_the_tailroom_exactly_and_the_write_past_it_appends_nothing()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 62 });
        using NetBufBox box = pool.AllocBoxed();
        var writer = new NetBufWriter(box);

        // 1986 bytes of tailroom: 496 words of 4 bytes, then 2 bytes left.
        for (uint i = 0; i < 496; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), i);
            writer.Advance(4);
        }

        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), 0xFFFFFFFF);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(4));
        Assert.That(writer.WrittenCount, Is.EqualTo(1984));

        BinaryPrimitives.WriteUInt16BigEndian(writer.GetSpan(2), 0xBEEF);
        writer.Advance(2);
        NetBuf packet = box.AsNetBuf();
        Assert.That(packet.PacketLength, Is.EqualTo(1986));
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(packet.Packet[(495 * 4)..]), Is.EqualTo(495));
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(packet.Packet[1984..]), Is.EqualTo(0xBEEF));

        Assert.That(writer.GetSpan(0).Length, Is.Positive, "GetSpan(0) on a full packet does not throw");
        writer.Advance(0);
        writer.Rollback();
        Assert.That(packet.PacketLength, Is.Zero, "Rollback returns to the length at Reset");
    }

    [Test]
    public void Rollback_refuses_a_packet_shortened_below_the_mark()
    {
        using var pool = new NetBufPool(2, 2048);
        using NetBufBox box = pool.AllocBoxed();
        box.AsNetBuf().Append(10);
        var writer = new NetBufWriter(box);
        box.AsNetBuf().TrimEnd(5);
        Assert.Throws<InvalidOperationException>(writer.Rollback);
        Assert.That(box.AsNetBuf().PacketLength, Is.EqualTo(5), "nothing changed");
    }

    /// <summary>Writes with Utf8JsonWriter as a user would; on failure rolls back as the docs say.</summary>
    private static bool TryWrite(NetBufWriter writer, Action<Utf8JsonWriter> write)
    {
        try
        {
            using var json = new Utf8JsonWriter(writer);
            write(json);
            return true;
        }
        catch (InvalidOperationException)
        {
            writer.Rollback();
            return false;
        }
    }

    /// <summary>A JSON document of exactly <paramref name="size"/> bytes, and how to write it.</summary>
    private static byte[] Document(int size, bool manyTokens, out Action<Utf8JsonWriter> write)
    {
        if (size == 1)
        {
            write = static json => json.WriteNumberValue(7);
            return "7"u8.ToArray();
        }

        if (!manyTokens || size < 5)
        {
            // "aaa...": the string's hint is its worst-case escaped length, six times its length.
            string text = new('a', size - 2);
            write = json => json.WriteStringValue(text);
            return Encoding.UTF8.GetBytes($"\"{text}\"");
        }

        // [1,1,...,1,9] or [1,1,...,1,99]: many small writes and several grows.
        int ones = (size - 3) / 2;
        int last = size - 2 - (ones * 2);
        var builder = new StringBuilder("[");
        for (int i = 0; i < ones; i++)
        {
            builder.Append("1,");
        }

        builder.Append('9', last).Append(']');
        string document = builder.ToString();
        int lastValue = last == 1 ? 9 : 99;
        write = json =>
        {
            json.WriteStartArray();
            for (int i = 0; i < ones; i++)
            {
                json.WriteNumberValue(1);
            }

            json.WriteNumberValue(lastValue);
            json.WriteEndArray();
        };
        return Encoding.UTF8.GetBytes(document);
    }
}

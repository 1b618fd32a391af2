using System.Buffers.Binary;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="VlanAuxData"/> on control buffers built by hand: the kernel's one message, other
/// messages before it, what kernels before 3.0 wrote, and malformed buffers (lengths too short, too
/// long, cut short), which must read as "no tag" without reading past the buffer; the tag put back
/// into a frame with only 12 bytes moving. No privilege needed.
/// </summary>
public sealed class VlanAuxDataTests
{
    private const uint VlanValid = 0x10;
    private const uint TpidValid = 0x40;

    [Test]
    public void The_kernels_message_gives_the_tag_and_its_protocol()
    {
        byte[] control = Message(263, 8, AuxData(VlanValid | TpidValid, 0xA02A, 0x88A8));
        Assert.That(VlanAuxData.TryRead(control, out ushort tpid, out ushort tci), Is.True);
        Assert.That(tpid, Is.EqualTo(0x88A8));
        Assert.That(tci, Is.EqualTo(0xA02A));
    }

    [Test]
    public void A_tag_of_zeros_flagged_valid_is_a_tag()
    {
        byte[] control = Message(263, 8, AuxData(VlanValid | TpidValid, 0, 0x8100));
        Assert.That(VlanAuxData.TryRead(control, out ushort tpid, out ushort tci), Is.True);
        Assert.That((tpid, tci), Is.EqualTo(((ushort)0x8100, (ushort)0)));
    }

    [Test]
    public void Without_the_flags_a_nonzero_tci_is_a_tag_of_8021Q_as_old_kernels_wrote_it()
    {
        byte[] control = Message(263, 8, AuxData(0, 42, 0));
        Assert.That(VlanAuxData.TryRead(control, out ushort tpid, out ushort tci), Is.True);
        Assert.That((tpid, tci), Is.EqualTo(((ushort)0x8100, (ushort)42)));

        byte[] noTpid = Message(263, 8, AuxData(VlanValid, 7, 0x88A8));
        Assert.That(VlanAuxData.TryRead(noTpid, out tpid, out _), Is.True);
        Assert.That(tpid, Is.EqualTo(0x8100), "a protocol not flagged valid is not trusted");
    }

    [Test]
    public void An_untagged_frame_or_an_empty_buffer_has_no_tag()
    {
        Assert.That(VlanAuxData.TryRead(Message(263, 8, AuxData(0, 0, 0)), out ushort tpid, out ushort tci), Is.False);
        Assert.That((tpid, tci), Is.EqualTo(((ushort)0, (ushort)0)));
        Assert.That(VlanAuxData.TryRead([], out _, out _), Is.False);
    }

    [Test]
    public void The_message_is_found_after_others_and_their_padding()
    {
        // A 20-byte SO_TIMESTAMP-like message (level 1, type 29): 16 + 4 bytes, padded to 24.
        byte[] control = [.. Message(1, 29, new byte[4]), .. Message(263, 8, AuxData(VlanValid | TpidValid, 5, 0x8100))];
        Assert.That(control, Has.Length.EqualTo(24 + 40));
        Assert.That(VlanAuxData.TryRead(control, out _, out ushort tci), Is.True);
        Assert.That(tci, Is.EqualTo(5));
    }

    [Test]
    public void Messages_of_other_levels_or_types_are_not_read_as_the_tag()
    {
        Assert.That(VlanAuxData.TryRead(Message(1, 8, AuxData(VlanValid, 5, 0x8100)), out _, out _), Is.False, "SOL_SOCKET, not SOL_PACKET");
        Assert.That(VlanAuxData.TryRead(Message(263, 9, AuxData(VlanValid, 5, 0x8100)), out _, out _), Is.False, "another SOL_PACKET type");
    }

    [TestCase(0, TestName = "A length of 0 (would loop forever)")]
    [TestCase(15, TestName = "A length shorter than the header")]
    [TestCase(35, TestName = "A length too short for the data")]
    [TestCase(41, TestName = "A length past the buffer")]
    [TestCase(int.MaxValue, TestName = "A huge length")]
    public void A_malformed_length_reads_as_no_tag(long length)
    {
        byte[] control = Message(263, 8, AuxData(VlanValid | TpidValid, 5, 0x8100));
        BinaryPrimitives.WriteUInt64LittleEndian(control, (ulong)length);
        Assert.That(VlanAuxData.TryRead(control, out _, out _), Is.False);
    }

    [Test]
    public void A_buffer_cut_inside_a_header_or_the_data_reads_as_no_tag()
    {
        byte[] control = Message(263, 8, AuxData(VlanValid | TpidValid, 5, 0x8100));
        for (int length = 0; length < 36; length++)
        {
            // Only the first `length` bytes are given: nothing beyond may be read (a span would throw).
            Assert.That(VlanAuxData.TryRead(control.AsSpan(0, length), out _, out _), Is.False, $"{length} bytes");
        }

        Assert.That(VlanAuxData.TryRead(control.AsSpan(0, 36), out _, out _), Is.True, "header and data, without the padding");
    }

    [Test]
    public void Insert_moves_the_addresses_and_puts_the_tag_before_the_ethertype()
    {
        byte[] buffer = new byte[4 + 20];
        for (int i = 0; i < 20; i++)
        {
            buffer[4 + i] = (byte)(i + 1);
        }

        VlanAuxData.Insert(buffer, 0x88A8, 0xB02A);
        byte[] expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xA8, 0xB0, 0x2A, 13, 14, 15, 16, 17, 18, 19, 20];
        Assert.That(buffer, Is.EqualTo(expected));
    }

    [Test]
    public void InsertMovingPayload_moves_everything_after_the_addresses_up_and_puts_the_tag_before_the_ethertype()
    {
        byte[] buffer = new byte[20 + 4];
        for (int i = 0; i < 20; i++)
        {
            buffer[i] = (byte)(i + 1);
        }

        VlanAuxData.InsertMovingPayload(buffer, 0x8100, 0x002A);
        byte[] expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x00, 0x2A, 13, 14, 15, 16, 17, 18, 19, 20];
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.Throws<ArgumentOutOfRangeException>(() => VlanAuxData.InsertMovingPayload(new byte[17], 0x8100, 1));
    }

    [Test]
    public void Insert_refuses_a_span_without_room_for_the_tag_and_a_header()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => VlanAuxData.Insert(new byte[17], 0x8100, 1));
        Assert.DoesNotThrow(() => VlanAuxData.Insert(new byte[18], 0x8100, 1));
    }

    private static byte[] AuxData(uint status, ushort tci, ushort tpid)
    {
        var data = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(data, status);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(16), tci);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(18), tpid);
        return data;
    }

    /// <summary>One control message as the kernel lays it out: cmsg_len (header + data), level, type, data, padding to 8.</summary>
    private static byte[] Message(int level, int type, byte[] data)
    {
        var message = new byte[(16 + data.Length + 7) & ~7];
        BinaryPrimitives.WriteUInt64LittleEndian(message, (ulong)(16 + data.Length));
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(8), level);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(12), type);
        data.CopyTo(message, 16);
        return message;
    }
}

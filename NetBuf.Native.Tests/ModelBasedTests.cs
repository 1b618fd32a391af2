using CsCheck;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Random operation sequences checked step by step against a simple model: for the regions of
/// one buffer (offsets, lengths and contents), and for the pool (which buffers are out).
/// CsCheck shrinks a failing sequence to a short one and prints a seed to replay it.
/// </summary>
public sealed class ModelBasedTests
{
    private const int BufferLength = 1600;

    private enum RegionOp
    {
        SetHeaderLength,
        SetPacketLength,
        ReserveHeadroom,
        Prepend,
        Append,
        TrimStart,
        TrimEnd,
        ToPointerAndBack,
        ToBoxAndBack,

        /// <summary>Lent, handed over with the frame at (headroom = the step's length, packet = the step's length), restored.</summary>
        HandOverWithFrame,

        /// <summary>Lent and restored with the frame at (headroom = the step's length, packet = the step's length).</summary>
        RestoreWithFrame,

        /// <summary>Lent, handed over keeping the regions, restored.</summary>
        HandOverKeepingRegions,
    }

    private enum PoolOp
    {
        Alloc,
        AllocBoxed,
        ReturnOldest,
        ReturnNewest,
        LendAndRestoreNewest,
        DisposeStaleCopy,
        RestoreStalePointer,
        AllocLent,
        LendNewest,
        RestoreNewest,
    }

    [Test]
    public void Region_operations_match_the_model()
    {
        // Lengths cluster around the interesting edges: 0, small, and the whole buffer.
        var length = Gen.OneOf(Gen.Int[-2, 40], Gen.Int[0, BufferLength + 2], Gen.Int[BufferLength - 40, BufferLength + 2]);
        var step = Gen.Select(Gen.Enum<RegionOp>(), length, Gen.Byte);
        step.Array[1, 40].Sample(steps => RunRegionSequence(BufferLength, steps), iter: 3000);
    }

    /// <summary>
    /// The same at the limits of the region word's 16-bit positions: the largest and the smallest buffer, lengths at and
    /// one past them, half of them (two halves fill the buffer exactly), and the extremes of an int (a sum of two that
    /// wraps, a negative that is large when read unsigned).
    /// </summary>
    /// <param name="bufferLength">The pool's buffer length.</param>
    [TestCase(NetBufPool.MaxBufferLength)]
    [TestCase(NetBufPool.MinBufferLength)]
    public void Region_operations_match_the_model_at_the_limits_of_the_fields(int bufferLength)
    {
        int half = bufferLength / 2;
        int[] edges =
        [
            0, 1, -1, 2, half, half + 1, half - 1, bufferLength, bufferLength - 1, bufferLength + 1, ushort.MaxValue, ushort.MaxValue + 1,
            ushort.MaxValue + 2, 1 << 17, int.MaxValue, int.MinValue, int.MinValue + 1, int.MaxValue - bufferLength, -bufferLength, -65536,
        ];
        var edge = Gen.Int[0, edges.Length - 1].Select(i => edges[i]);
        var length = Gen.OneOf(edge, Gen.Int[-2, 40], Gen.Int[0, bufferLength + 2], Gen.Int[bufferLength - 40, bufferLength + 2]);
        var step = Gen.Select(Gen.Enum<RegionOp>(), length, Gen.Byte);
        step.Array[1, 40].Sample(steps => RunRegionSequence(bufferLength, steps), iter: 3000);
    }

    [Test]
    public void Pool_operations_match_the_model()
    {
        Gen.Enum<PoolOp>().Array[1, 60].Sample(RunPoolSequence, iter: 2000);
    }

    private static void RunRegionSequence(int bufferLength, (RegionOp Op, int Length, byte Fill)[] steps)
    {
        using var pool = new NetBufPool(1, bufferLength);
        var buf = pool.Alloc();
        buf.RawBuffer.Clear();
        var model = new RegionModel(bufferLength);
        foreach (var (op, length, fill) in steps)
        {
            bool modelAccepts = model.Accepts(op, length);
            bool accepted = true;
            try
            {
                Span<byte> affected = Apply(ref buf, pool, op, length);
                if (op is RegionOp.Prepend or RegionOp.Append)
                {
                    affected.Fill(fill);
                }
            }
            catch (ArgumentOutOfRangeException)
            {
                accepted = false;
            }
            catch (InvalidOperationException) when (op == RegionOp.ReserveHeadroom)
            {
                accepted = false;
            }

            Same(accepted, modelAccepts, $"{op}({length}) on {model}");
            if (accepted)
            {
                model.Apply(op, length, fill);
            }

            Same((buf.Headroom, buf.HeaderLength, buf.PacketLength), (model.Offset, model.Header, model.Packet), $"after {op}({length})");
            Same(buf.Tailroom, bufferLength - model.Offset - model.Header - model.Packet, "buf.Tailroom");
            Same(buf.PacketWithHeader.SequenceEqual(model.Contents), true, $"contents after {op}({length})");
            Same((buf.Header.Length, buf.Packet.Length, buf.PacketMemory.Length), (model.Header, model.Packet, model.Packet), "span lengths");
            Same(buf.Packet.SequenceEqual(model.Contents[model.Header..]), true, "packet contents");
            Same(buf.PacketMemory.Span.SequenceEqual(model.Contents[model.Header..]), true, "packet memory contents");

            // The regions a pointer carries are the same, at the same addresses.
            var pointer = buf.IntoBufPtr();
            Same((pointer.HeaderLength, pointer.PacketLength), (model.Header, model.Packet), "pointer lengths");
            Same((pointer.HeaderAddress - pointer.BufferAddress, pointer.PacketAddress - pointer.BufferAddress), ((nint)model.Offset, (nint)(model.Offset + model.Header)), "pointer offsets");
            Same(pointer.PacketWithHeader.SequenceEqual(model.Contents), true, "pointer contents");
            buf = pool.FromBufPtr(pointer);
        }

        buf.Dispose();
        Same(pool.Available, 1, "pool.Available");
    }

    private static Span<byte> Apply(ref NetBuf buf, NetBufPool pool, RegionOp op, int length)
    {
        switch (op)
        {
            case RegionOp.SetHeaderLength:
                buf.SetHeaderLength(length);
                return default;
            case RegionOp.SetPacketLength:
                buf.SetPacketLength(length);
                return default;
            case RegionOp.ReserveHeadroom:
                buf.ReserveHeadroom(length);
                return default;
            case RegionOp.Prepend:
                return buf.Prepend(length);
            case RegionOp.Append:
                return buf.Append(length);
            case RegionOp.TrimStart:
                return buf.TrimStart(length);
            case RegionOp.TrimEnd:
                return buf.TrimEnd(length);
            case RegionOp.ToPointerAndBack:
                buf = pool.FromBufPtr(buf.IntoBufPtr());
                return default;
            case RegionOp.HandOverWithFrame:
            {
                NetBufPtr lent = buf.IntoBufPtr();
                if (!pool.TryHandOver(lent, length, length, out NetBufPtr handedOver))
                {
                    buf = pool.FromBufPtr(lent);
                    throw new ArgumentOutOfRangeException(nameof(length));
                }

                Same(pool.IsLent(lent), false, "the pointer handed over is stale");
                buf = pool.FromBufPtr(handedOver);
                return default;
            }

            case RegionOp.RestoreWithFrame:
            {
                NetBufPtr lent = buf.IntoBufPtr();
                try
                {
                    buf = pool.FromBufPtr(lent, length, length);
                }
                catch (ArgumentOutOfRangeException)
                {
                    Same(pool.IsLent(lent), true, "a refused restore leaves the pointer lent");
                    buf = pool.FromBufPtr(lent);
                    throw;
                }

                return default;
            }

            case RegionOp.HandOverKeepingRegions:
            {
                NetBufPtr lent = buf.IntoBufPtr();
                buf = pool.FromBufPtr(pool.HandOver(lent));
                return default;
            }

            default:
                buf = buf.IntoBox().IntoNetBuf();
                return default;
        }
    }

    /// <summary>
    /// A pool of 5 buffers, each out as a box or lent as a pointer. Stale copies are tried after
    /// their buffer changed hands, often back to the same kind of handle (a freed pointer whose
    /// buffer is lent again, a disposed box whose buffer is boxed again), so only the generation
    /// tells them apart: a check that looked at the kind alone would let them through.
    /// </summary>
    private static void RunPoolSequence(PoolOp[] steps)
    {
        const int Capacity = 5;
        using var pool = new NetBufPool(Capacity, 2048);
        var live = new List<Held>();
        var staleBoxes = new List<NetBufBox>();
        var stalePointers = new List<NetBufPtr>();
        foreach (var op in steps)
        {
            switch (op)
            {
                case PoolOp.Alloc or PoolOp.AllocBoxed:
                    bool ok = op == PoolOp.Alloc ? TryAllocThenBox(pool, out var box) : pool.TryAllocBoxed(out box);
                    Same(ok, live.Count < Capacity, $"{op} with {live.Count} out");
                    if (ok)
                    {
                        int index = box.AsNetBuf().BufferIndex;
                        Same(live.Any(l => l.Index == index), false, "a buffer handed out twice");
                        box.AsNetBuf().Append(1)[0] = (byte)index;
                        live.Add(new Held(box, default, index));
                    }

                    break;
                case PoolOp.AllocLent:
                    var one = new NetBufPtr[1];
                    bool lent = pool.TryAllocBulk(one);
                    Same(lent, live.Count < Capacity, $"{op} with {live.Count} out");
                    if (lent)
                    {
                        int lentIndex = one[0].BufferIndex;
                        Same(live.Any(l => l.Index == lentIndex), false, "a buffer handed out twice");
                        var owned = pool.FromBufPtr(one[0]);
                        owned.Append(1)[0] = (byte)one[0].BufferIndex;
                        stalePointers.Add(one[0]);
                        live.Add(new Held(default, owned.IntoBufPtr(), one[0].BufferIndex));
                    }

                    break;
                case PoolOp.ReturnOldest or PoolOp.ReturnNewest when live.Count > 0:
                    int at = op == PoolOp.ReturnOldest ? 0 : live.Count - 1;
                    Held held = live[at];
                    Same((int)held.Packet[0], held.Index, "contents kept");
                    if (held.IsLent)
                    {
                        pool.FreeBulk([held.Pointer]);
                        stalePointers.Add(held.Pointer);
                    }
                    else
                    {
                        held.Box.Dispose();
                        staleBoxes.Add(held.Box);
                    }

                    live.RemoveAt(at);
                    break;
                case PoolOp.LendAndRestoreNewest when live.Count > 0 && !live[^1].IsLent:
                    var lentBox = live[^1].Box;
                    var ptr = lentBox.IntoBufPtr();
                    Same(ptr.BufferIndex, live[^1].Index, "ptr.BufferIndex");
                    live[^1] = new Held(pool.FromBufPtr(ptr).IntoBox(), default, live[^1].Index);
                    stalePointers.Add(ptr);
                    break;
                case PoolOp.LendNewest when live.Count > 0 && !live[^1].IsLent:
                    var boxToLend = live[^1].Box;
                    staleBoxes.Add(boxToLend);
                    live[^1] = new Held(default, boxToLend.IntoBufPtr(), live[^1].Index);
                    break;
                case PoolOp.RestoreNewest when live.Count > 0 && live[^1].IsLent:
                    NetBufPtr restoring = live[^1].Pointer;
                    live[^1] = new Held(pool.FromBufPtr(restoring).IntoBox(), default, live[^1].Index);
                    stalePointers.Add(restoring);
                    break;
                case PoolOp.DisposeStaleCopy when staleBoxes.Count > 0:
                    Same(ThrowsObjectDisposed(staleBoxes[^1]), true, "a stale box must not dispose");
                    break;
                case PoolOp.RestoreStalePointer when stalePointers.Count > 0:
                    NetBufPtr stale = stalePointers[^1];
                    Same(pool.IsLent(stale), false, "a stale pointer must not count as lent");
                    Same(pool.TryFromBufPtr(stale, out _), false, "a stale pointer must not restore");
                    break;
                default:
                    break;
            }

            Same(pool.InUse, live.Count, "pool.InUse");
            Same(pool.Available, Capacity - live.Count, "pool.Available");
        }

        foreach (Held held in live)
        {
            if (held.IsLent)
            {
                pool.FreeBulk([held.Pointer]);
            }
            else
            {
                held.Box.Dispose();
            }
        }

        Same(pool.Available, Capacity, "pool.Available");
    }

    /// <summary>Fails with a plain exception: CsCheck catches it to shrink the sequence, and NUnit
    /// records only the final, shrunk failure that Sample rethrows.</summary>
    private static void Same<T>(T actual, T expected, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected))
        {
            throw new InvalidOperationException($"{what}: expected {expected} but was {actual}");
        }
    }

    private static bool ThrowsObjectDisposed(NetBufBox box)
    {
        try
        {
            box.Dispose();
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private static bool TryAllocThenBox(NetBufPool pool, out NetBufBox box)
    {
        if (pool.TryAlloc(out var buf))
        {
            box = buf.IntoBox();
            return true;
        }

        box = default;
        return false;
    }

    /// <summary>A buffer out in the pool model: boxed, or lent as a pointer.</summary>
    private readonly record struct Held(NetBufBox Box, NetBufPtr Pointer, int Index)
    {
        public bool IsLent => !Pointer.IsNull;

        public ReadOnlySpan<byte> Packet => IsLent ? Pointer.Packet : Box.AsNetBuf().Packet;
    }

    /// <summary>The reference model of one buffer's regions and of the bytes in header + packet.</summary>
    private sealed class RegionModel(int capacity)
    {
        private readonly byte[] _bytes = new byte[capacity];

        public int Offset { get; private set; }

        public int Header { get; private set; }

        public int Packet { get; private set; }

        public ReadOnlySpan<byte> Contents => _bytes.AsSpan(Offset, Header + Packet);

        public bool Accepts(RegionOp op, int n) => op switch
        {
            RegionOp.SetHeaderLength => n >= 0 && (long)Offset + n + Packet <= capacity,
            RegionOp.SetPacketLength => n >= 0 && (long)Offset + Header + n <= capacity,
            RegionOp.ReserveHeadroom => Header == 0 && Packet == 0 && n >= 0 && (long)Offset + n <= capacity,
            RegionOp.Prepend => n >= 0 && n <= Offset,
            RegionOp.Append => n >= 0 && (long)Offset + Header + Packet + n <= capacity,
            RegionOp.HandOverWithFrame or RegionOp.RestoreWithFrame => n >= 0 && 2L * n <= capacity,
            RegionOp.TrimStart or RegionOp.TrimEnd => n >= 0 && n <= Header + Packet,
            _ => true,
        };

        public void Apply(RegionOp op, int n, byte fill)
        {
            switch (op)
            {
                case RegionOp.SetHeaderLength:
                    Header = n;
                    break;
                case RegionOp.SetPacketLength:
                    Packet = n;
                    break;
                case RegionOp.ReserveHeadroom:
                    Offset += n;
                    break;
                case RegionOp.Prepend:
                    Offset -= n;
                    Header += n;
                    _bytes.AsSpan(Offset, n).Fill(fill);
                    break;
                case RegionOp.Append:
                    _bytes.AsSpan(Offset + Header + Packet, n).Fill(fill);
                    Packet += n;
                    break;
                case RegionOp.TrimStart:
                    int fromHeader = Math.Min(n, Header);
                    Header -= fromHeader;
                    Packet -= n - fromHeader;
                    Offset += n;
                    break;
                case RegionOp.TrimEnd:
                    int fromPacket = Math.Min(n, Packet);
                    Packet -= fromPacket;
                    Header -= n - fromPacket;
                    break;
                case RegionOp.HandOverWithFrame or RegionOp.RestoreWithFrame:
                    // The device's frame: the bytes in the buffer at that place (the model keeps the whole buffer).
                    Offset = n;
                    Header = 0;
                    Packet = n;
                    break;
                default:
                    break;
            }
        }

        public override string ToString() => $"(offset {Offset}, header {Header}, packet {Packet})";
    }
}

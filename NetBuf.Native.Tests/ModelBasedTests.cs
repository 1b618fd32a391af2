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
    }

    [Test]
    public void Region_operations_match_the_model()
    {
        // Lengths cluster around the interesting edges: 0, small, and the whole buffer.
        var length = Gen.OneOf(Gen.Int[-2, 40], Gen.Int[0, BufferLength + 2], Gen.Int[BufferLength - 40, BufferLength + 2]);
        var step = Gen.Select(Gen.Enum<RegionOp>(), length, Gen.Byte);
        step.Array[1, 40].Sample(RunRegionSequence, iter: 3000);
    }

    [Test]
    public void Pool_operations_match_the_model()
    {
        Gen.Enum<PoolOp>().Array[1, 60].Sample(RunPoolSequence, iter: 2000);
    }

    private static void RunRegionSequence((RegionOp Op, int Length, byte Fill)[] steps)
    {
        using var pool = new NetBufPool(1, BufferLength);
        var buf = pool.Alloc();
        buf.RawBuffer.Clear();
        var model = new RegionModel(BufferLength);
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
            Same(buf.Tailroom, BufferLength - model.Offset - model.Header - model.Packet, "buf.Tailroom");
            Same(buf.PacketWithHeader.SequenceEqual(model.Contents), true, $"contents after {op}({length})");
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
            default:
                buf = buf.IntoBox().IntoNetBuf();
                return default;
        }
    }

    private static void RunPoolSequence(PoolOp[] steps)
    {
        const int Capacity = 5;
        using var pool = new NetBufPool(Capacity, 2048);
        var live = new List<(NetBufBox Box, int Index)>();
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
                        live.Add((box, index));
                    }

                    break;
                case PoolOp.ReturnOldest or PoolOp.ReturnNewest when live.Count > 0:
                    int at = op == PoolOp.ReturnOldest ? 0 : live.Count - 1;
                    Same((int)live[at].Box.AsNetBuf().Packet[0], live[at].Index, "contents kept");
                    live[at].Box.Dispose();
                    staleBoxes.Add(live[at].Box);
                    live.RemoveAt(at);
                    break;
                case PoolOp.LendAndRestoreNewest when live.Count > 0:
                    var (lentBox, lentIndex) = live[^1];
                    var ptr = lentBox.IntoBufPtr();
                    Same(ptr.BufferIndex, lentIndex, "ptr.BufferIndex");
                    live[^1] = (pool.FromBufPtr(ptr).IntoBox(), lentIndex);
                    stalePointers.Add(ptr);
                    break;
                case PoolOp.DisposeStaleCopy when staleBoxes.Count > 0:
                    Same(ThrowsObjectDisposed(staleBoxes[^1]), true, "a stale box must not dispose");
                    break;
                case PoolOp.RestoreStalePointer when stalePointers.Count > 0:
                    Same(pool.TryFromBufPtr(stalePointers[^1], out _), false, "a stale pointer must not restore");
                    break;
                default:
                    break;
            }

            Same(pool.InUse, live.Count, "pool.InUse");
            Same(pool.Available, Capacity - live.Count, "pool.Available");
        }

        foreach (var (box, _) in live)
        {
            box.Dispose();
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
            RegionOp.SetHeaderLength => n >= 0 && Offset + n + Packet <= capacity,
            RegionOp.SetPacketLength => n >= 0 && Offset + Header + n <= capacity,
            RegionOp.ReserveHeadroom => Header == 0 && Packet == 0 && n >= 0 && Offset + n <= capacity,
            RegionOp.Prepend => n >= 0 && n <= Offset,
            RegionOp.Append => n >= 0 && Offset + Header + Packet + n <= capacity,
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
                default:
                    break;
            }
        }

        public override string ToString() => $"(offset {Offset}, header {Header}, packet {Packet})";
    }
}

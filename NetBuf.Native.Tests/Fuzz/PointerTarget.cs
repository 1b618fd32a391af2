using Fields = NetBufNative.Tests.Fuzz.NetBufPtrForge.Fields;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/>, its checked-length and non-throwing forms,
/// <see cref="NetBufPool.IsLent"/> and <see cref="NetBufPool.FreeBulk(ReadOnlySpan{NetBufPtr})"/> fed
/// pointers that are real, stale, of another pool, null, or real ones with any field changed, in an
/// order the input chooses. A model of which lendings are current says what must be accepted; every
/// restored buffer must be the one lent, with its regions inside it; only the documented exceptions
/// may come out; and the pool must be intact at the end.
/// </summary>
internal static class PointerTarget
{
    private const int Capacity = 8;
    private const int BufferLength = 2048;
    private static bool s_layoutVerified;

    /// <summary>Runs one input.</summary>
    /// <param name="input">The choices.</param>
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (!s_layoutVerified)
        {
            using var probe = new NetBufPool(1, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
            NetBufPtrForge.VerifyLayout(probe);
            s_layoutVerified = true;
        }

        var reader = new InputReader(input);
        int? cacheSize = (reader.Byte() % 3) switch { 0 => 0, 1 => 2, _ => null };
        using var pool = new NetBufPool(Capacity, BufferLength, new NetBufPoolOptions { DefaultHeadroom = 64, ThreadCacheSize = cacheSize, Name = "fuzz-pointers" });
        using var other = new NetBufPool(2, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0, Name = "fuzz-other" });
        var state = new State(pool, other.Alloc().IntoBufPtr());
        for (int step = 0; step < 64 && !reader.IsAtEnd; step++)
        {
            Step(ref reader, state);
            state.CheckModel();
        }

        // Everything still lent goes back in one batch, which must be accepted whole.
        pool.FreeBulk(state.Lent.Select(NetBufPtrForge.Make).ToArray());
        other.FromBufPtr(state.Foreign).Dispose();
        FuzzFindingException.Check(pool.Available == pool.Capacity && pool.InUse == 0, $"pool not intact: {pool.Available} of {pool.Capacity} available, {pool.InUse} in use");
        FuzzFindingException.Check(other.Available == other.Capacity && other.InUse == 0, "the other pool is not intact");
    }

    private static void Step(ref InputReader reader, State state)
    {
        NetBufPool pool = state.Pool;
        switch (reader.Byte() % 7)
        {
            case 0:
                if (pool.TryAlloc(out NetBuf fresh))
                {
                    fresh.ReserveHeadroom(reader.UInt16() % (fresh.Tailroom + 1));
                    fresh.SetPacketLength(reader.UInt16() % (fresh.Tailroom + 1));
                    state.Lend(fresh.IntoBufPtr());
                }
                else
                {
                    FuzzFindingException.Check(state.Lent.Count == Capacity, $"TryAlloc failed with {state.Lent.Count} of {Capacity} lent");
                }

                break;

            case 1:
                {
                    var batch = new NetBufPtr[1 + (reader.Byte() % 4)];
                    if (pool.TryAllocBulk(batch))
                    {
                        foreach (NetBufPtr pointer in batch)
                        {
                            FuzzFindingException.Check(pool.IsLent(pointer), "TryAllocBulk returned a pointer that is not lent");
                            state.Lend(pointer);
                        }
                    }
                    else
                    {
                        FuzzFindingException.Check(state.Lent.Count + batch.Length > Capacity, $"TryAllocBulk({batch.Length}) failed with {state.Lent.Count} of {Capacity} lent");
                        FuzzFindingException.Check(batch.All(p => p.IsNull), "a failed TryAllocBulk left pointers behind");
                    }

                    break;
                }

            case 2:
                {
                    NetBufPtr candidate = state.Candidate(ref reader);
                    bool expected = state.IsCurrent(candidate);
                    bool restored = pool.TryFromBufPtr(candidate, out NetBuf buffer);
                    FuzzFindingException.Check(restored == expected, $"TryFromBufPtr({candidate}) returned {restored}, expected {expected}");
                    if (restored)
                    {
                        state.Restored(ref buffer, candidate, ref reader);
                    }

                    break;
                }

            case 3:
                {
                    NetBufPtr candidate = state.Candidate(ref reader);
                    bool expected = state.IsCurrent(candidate);
                    NetBuf buffer;
                    try
                    {
                        buffer = pool.FromBufPtr(candidate);
                    }
                    catch (Exception e) when (!expected && (e.GetType() == typeof(ArgumentException) || e.GetType() == typeof(InvalidOperationException)))
                    {
                        break;
                    }

                    FuzzFindingException.Check(expected, $"FromBufPtr accepted {candidate}, which is not a current lending");
                    state.Restored(ref buffer, candidate, ref reader);
                    break;
                }

            case 4:
                {
                    NetBufPtr candidate = state.Candidate(ref reader);
                    bool expected = state.IsCurrent(candidate);
                    int offset = reader.UInt16() % (BufferLength + 64);
                    int length = reader.UInt16() % (BufferLength + 64);
                    bool fits = offset <= BufferLength && length <= BufferLength - offset;
                    NetBuf buffer;
                    try
                    {
                        buffer = pool.FromBufPtr(candidate, offset, length);
                    }
                    catch (ArgumentOutOfRangeException) when (!fits)
                    {
                        FuzzFindingException.Check(pool.IsLent(candidate) == expected, "a rejected frame changed the pointer's state");
                        break;
                    }
                    catch (Exception e) when (fits && !expected && (e.GetType() == typeof(ArgumentException) || e.GetType() == typeof(InvalidOperationException)))
                    {
                        break;
                    }

                    FuzzFindingException.Check(fits && expected, $"FromBufPtr({candidate}, {offset}, {length}) accepted (fits {fits}, current {expected})");
                    FuzzFindingException.Check(buffer.Headroom == offset && buffer.HeaderLength == 0 && buffer.PacketLength == length, "FromBufPtr with a frame set other regions");
                    state.Restored(ref buffer, candidate, ref reader, checkRegions: false);
                    break;
                }

            case 5:
                {
                    NetBufPtr candidate = state.Candidate(ref reader);
                    FuzzFindingException.Check(pool.IsLent(candidate) == state.IsCurrent(candidate), $"IsLent({candidate}) disagrees with the model");
                    break;
                }

            default:
                {
                    var batch = new NetBufPtr[reader.Byte() % 6];
                    for (int i = 0; i < batch.Length; i++)
                    {
                        batch[i] = state.Candidate(ref reader);
                    }

                    state.FreeBulk(batch);
                    break;
                }
        }
    }

    /// <summary>The model: which lendings are current, and every one there ever was.</summary>
    private sealed class State(NetBufPool pool, NetBufPtr foreign)
    {
        public NetBufPool Pool { get; } = pool;

        public NetBufPtr Foreign { get; } = foreign;

        /// <summary>The current lendings, as lent (with their regions).</summary>
        public List<Fields> Lent { get; } = [];

        /// <summary>Every lending so far, current or not (the stale ones).</summary>
        public List<Fields> History { get; } = [];

        public void Lend(NetBufPtr pointer)
        {
            Fields fields = NetBufPtrForge.Read(pointer);
            FuzzFindingException.Check(!pointer.IsNull && !Lent.Any(l => l.Index == fields.Index), $"{pointer} lent twice at once");
            FuzzFindingException.Check((uint)pointer.BufferIndex < Capacity && (History.Count == 0 || pointer.BufferAddress == Base + (pointer.BufferIndex * (nint)Pool.BufferStride)), $"{pointer} is not where its index says");
            Lent.Add(fields);
            History.Add(fields);
        }

        public bool IsCurrent(NetBufPtr candidate)
        {
            Fields fields = NetBufPtrForge.Read(candidate);
            return Lent.Any(l => l.SameLending(fields));
        }

        /// <summary>The pool's first buffer's address, from any pointer it lent.</summary>
        private nint Base => History.Count == 0 ? 0 : History[0].Buffer - (History[0].Index * (nint)Pool.BufferStride);

        /// <summary>A pointer chosen and possibly corrupted by the input.</summary>
        public NetBufPtr Candidate(ref InputReader reader)
        {
            Fields fields = (reader.Byte() % 5) switch
            {
                0 when Lent.Count > 0 => Lent[reader.Byte() % Lent.Count],
                1 when History.Count > 0 => History[reader.Byte() % History.Count],
                2 => NetBufPtrForge.Read(Foreign),
                3 => new Fields { Buffer = (nint)reader.UInt64(), Index = reader.Int32(), Token = reader.UInt64(), Regions = reader.UInt64() },
                _ => Lent.Count > 0 ? Lent[reader.Byte() % Lent.Count] : default,
            };

            switch (reader.Byte() % 9)
            {
                case 1:
                    fields.Buffer += (short)reader.UInt16();
                    break;
                case 2:
                    fields.Index += (sbyte)reader.Byte();
                    break;
                case 3:
                    fields.Index = reader.Int32();
                    break;
                case 4:
                    fields.Token ^= 1UL << (reader.Byte() % 64);
                    break;
                case 5:
                    fields.Token ^= reader.UInt64();
                    break;
                case 6:
                    fields.Regions = reader.UInt64();
                    break;
                case 7:
                    // Another buffer's index and address, this token: a consistent forgery.
                    fields.Index = reader.Byte() % (Capacity + 2);
                    fields.Buffer = Base + (fields.Index * (nint)Pool.BufferStride);
                    break;
                case 8 when History.Count > 0:
                    fields.Token = History[reader.Byte() % History.Count].Token;
                    break;
                default:
                    break;
            }

            return NetBufPtrForge.Make(fields);
        }

        /// <summary>A candidate was restored: it must be the buffer lent; then it is disposed or lent again.</summary>
        public void Restored(ref NetBuf buffer, NetBufPtr candidate, ref InputReader reader, bool checkRegions = true)
        {
            Fields fields = NetBufPtrForge.Read(candidate);
            int at = Lent.FindIndex(l => l.SameLending(fields));
            Fields lent = Lent[at];
            Lent.RemoveAt(at);
            NetBufPtr original = NetBufPtrForge.Make(lent);
            Span<byte> raw = buffer.RawBuffer;
            unsafe
            {
                fixed (byte* start = raw)
                {
                    FuzzFindingException.Check((nint)start == lent.Buffer && raw.Length == Pool.BufferLength, "the restored buffer is not the one lent");
                }
            }

            FuzzFindingException.Check(GuardedPage.IsWithin(buffer.PacketWithHeader, raw) && GuardedPage.IsWithin(buffer.Packet, raw), "a restored buffer's regions lie outside it");
            if (checkRegions)
            {
                FuzzFindingException.Check(
                    buffer.Headroom == (int)(original.HeaderAddress - original.BufferAddress) && buffer.HeaderLength == original.HeaderLength && buffer.PacketLength == original.PacketLength,
                    "a restored buffer's regions are not those it was lent with (the pointer's own regions must not count)");
            }

            FuzzFindingException.Check(!Pool.IsLent(original), "a restored pointer is still lent");
            if ((reader.Byte() & 1) == 0)
            {
                buffer.Dispose();
            }
            else
            {
                Lend(buffer.IntoBufPtr());
            }
        }

        public void FreeBulk(NetBufPtr[] batch)
        {
            Fields[] fields = batch.Select(NetBufPtrForge.Read).ToArray();
            bool allCurrent = fields.All(f => Lent.Any(l => l.SameLending(f)));
            bool duplicates = fields.Select(f => (f.Buffer, f.Index, f.Token)).Distinct().Count() < fields.Length;
            try
            {
                Pool.FreeBulk(batch);
            }
            catch (Exception e) when (!allCurrent && (e.GetType() == typeof(ArgumentException) || e.GetType() == typeof(InvalidOperationException)))
            {
                // Rejected whole: nothing changed (CheckModel sees to it).
                return;
            }
            catch (InvalidOperationException e) when (allCurrent && duplicates && e.GetType() == typeof(InvalidOperationException))
            {
                // A pointer listed twice: taken once, every other one freed.
                duplicates = false;
            }

            FuzzFindingException.Check(!duplicates, "FreeBulk took a batch with a pointer listed twice without saying so");
            FuzzFindingException.Check(allCurrent, "FreeBulk accepted a batch with a pointer that is not a current lending");
            _ = Lent.RemoveAll(l => fields.Any(f => f.SameLending(l)));
        }

        /// <summary>Every current lending is lent, and no other buffer of the pool.</summary>
        public void CheckModel()
        {
            foreach (Fields fields in Lent)
            {
                FuzzFindingException.Check(Pool.IsLent(NetBufPtrForge.Make(fields)), $"{NetBufPtrForge.Make(fields)} should be lent");
            }

            FuzzFindingException.Check(Pool.InUse == Lent.Count, $"{Pool.InUse} buffers in use, {Lent.Count} lent");
        }
    }
}

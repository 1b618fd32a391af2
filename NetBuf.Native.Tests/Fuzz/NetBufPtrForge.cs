using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// Makes <see cref="NetBufPtr"/> values with arbitrary fields, as corrupted driver memory would hold
/// them, without the library's internal constructor: the fuzz harness is its own assembly, which
/// the library does not open its internals to. A struct of the same layout is reinterpreted with
/// <see cref="Unsafe.As{TFrom, TTo}(ref TFrom)"/>; <see cref="VerifyLayout"/> proves the layout
/// against a real pointer (public properties, and a round trip through the pool) before any input
/// runs, so a change of the struct fails loudly instead of fuzzing garbage.
/// </summary>
internal static class NetBufPtrForge
{
    /// <summary>Builds a pointer from raw fields.</summary>
    /// <param name="fields">The fields.</param>
    /// <returns>The pointer, valid or not.</returns>
    public static NetBufPtr Make(Fields fields) => Unsafe.As<Fields, NetBufPtr>(ref fields);

    /// <summary>Reads a pointer's raw fields.</summary>
    /// <param name="pointer">The pointer.</param>
    /// <returns>Its fields.</returns>
    public static Fields Read(NetBufPtr pointer) => Unsafe.As<NetBufPtr, Fields>(ref pointer);

    /// <summary>Checks that <see cref="Fields"/> mirrors <see cref="NetBufPtr"/>, with a pointer lent by <paramref name="pool"/>; throws if not.</summary>
    /// <param name="pool">A pool with a free buffer; left as it was.</param>
    public static void VerifyLayout(NetBufPool pool)
    {
        FuzzFindingException.Check(Unsafe.SizeOf<NetBufPtr>() == Unsafe.SizeOf<Fields>(), "NetBufPtr's size changed: update NetBufPtrForge.Fields");
        NetBuf buffer = pool.Alloc();
        buffer.SetPacketLength(100);
        NetBufPtr real = buffer.IntoBufPtr();
        Fields fields = Read(real);
        FuzzFindingException.Check(
            fields.Buffer == real.BufferAddress && fields.Index == real.BufferIndex && fields.Token != 0 && fields.Regions != 0,
            "NetBufPtr's layout changed: update NetBufPtrForge.Fields");
        NetBufPtr copy = Make(fields);
        FuzzFindingException.Check(copy == real && copy.PacketLength == 100 && pool.IsLent(copy), "a forged copy of a real pointer is not the same pointer");
        pool.FromBufPtr(copy).Dispose();
        FuzzFindingException.Check(!pool.IsLent(real), "restoring the forged copy did not restore the real pointer");
    }

    /// <summary>The fields of <see cref="NetBufPtr"/>, in its declaration order (sequential layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Fields : IEquatable<Fields>
    {
        /// <summary>The buffer's address.</summary>
        public nint Buffer;

        /// <summary>The salted state word.</summary>
        public ulong Token;

        /// <summary>The packed regions (headroom, header and packet lengths).</summary>
        public ulong Regions;

        /// <summary>The buffer's index.</summary>
        public int Index;

        /// <summary>Whether both name the same lending (address, index, token), whatever the regions.</summary>
        /// <param name="other">The other.</param>
        /// <returns><see langword="true"/> when they do.</returns>
        public readonly bool SameLending(Fields other) => Buffer == other.Buffer && Index == other.Index && Token == other.Token;

        /// <inheritdoc/>
        public readonly bool Equals(Fields other) => SameLending(other) && Regions == other.Regions;

        /// <inheritdoc/>
        public override readonly bool Equals(object? obj) => obj is Fields other && Equals(other);

        /// <inheritdoc/>
        public override readonly int GetHashCode() => HashCode.Combine(Buffer, Index, Token, Regions);
    }
}

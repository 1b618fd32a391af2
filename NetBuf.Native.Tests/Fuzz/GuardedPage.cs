using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// One read-write page followed by an inaccessible guard page (mmap, then mprotect PROT_NONE):
/// a frame placed at the very end of the first page makes any read or write past its end fault at
/// once, even from unchecked code (vector loads, pointer arithmetic), instead of silently touching
/// a neighbour. One per thread, made on first use and kept for the process's life.
/// </summary>
internal static unsafe partial class GuardedPage
{
    private const int ProtNone = 0;
    private const int ProtReadWrite = 3;
    private const int MapPrivateAnonymous = 0x02 | 0x20;

    [ThreadStatic]
    private static nint t_page;

    /// <summary>The most bytes that fit before the guard.</summary>
    public static int Size => Environment.SystemPageSize;

    /// <summary>
    /// Copies <paramref name="data"/> (cut to <see cref="Size"/>) so that its last byte is the last
    /// one before the guard page, and returns the copy: a span that ends where memory ends.
    /// </summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The copy, in guarded memory; valid until the next call on this thread.</returns>
    public static Span<byte> Place(ReadOnlySpan<byte> data)
    {
        nint page = t_page != 0 ? t_page : t_page = Map();
        int length = Math.Min(data.Length, Size);
        var span = new Span<byte>((byte*)page + Size - length, length);
        data[..length].CopyTo(span);
        return span;
    }

    /// <summary>Whether <paramref name="inner"/> lies wholly inside <paramref name="outer"/> (an empty span may sit at its end).</summary>
    /// <param name="inner">The view a parser returned.</param>
    /// <param name="outer">The bytes it was given.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    public static bool IsWithin(ReadOnlySpan<byte> inner, ReadOnlySpan<byte> outer)
    {
        nint offset = Unsafe.ByteOffset(ref MemoryMarshal.GetReference(outer), ref MemoryMarshal.GetReference(inner));
        return inner.IsEmpty ? offset >= 0 && offset <= outer.Length : offset >= 0 && offset + inner.Length <= outer.Length;
    }

    private static nint Map()
    {
        int size = Size;
        nint memory = Mmap(0, (nuint)(2 * size), ProtReadWrite, MapPrivateAnonymous, -1, 0);
        if (memory == -1 || memory == 0)
        {
            throw new InvalidOperationException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
        }

        if (Mprotect(memory + size, (nuint)size, ProtNone) != 0)
        {
            throw new InvalidOperationException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return memory;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint address, nuint length, int protection);
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// <c>struct epoll_event</c>: a 32-bit event mask and 64 bits of caller data. The kernel declares it packed on x86-64
/// only (<c>EPOLL_PACKED</c>): 12 bytes with the data at offset 4 there, and on i386, whose 64-bit fields are 4-aligned;
/// 16 bytes with the data at offset 8 on AArch64 and every other 64-bit ABI. The layout is therefore chosen at run
/// time from <see cref="RuntimeInformation.ProcessArchitecture"/>, and an entry is read and written through a pointer
/// (a C# struct has one layout for every architecture). A test checks it against the kernel (an eventfd's event
/// comes back with its data intact).
/// </summary>
internal static unsafe class EpollEvent
{
    /// <summary>Whether the structure is packed (x86-64 and x86).</summary>
    internal static readonly bool IsPacked = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>Bytes of one entry: 12 packed, 16 otherwise.</summary>
    internal static readonly int Size = IsPacked ? 12 : 16;

    /// <summary>Where the 64-bit data is in an entry: 4 packed, 8 otherwise.</summary>
    internal static readonly int DataOffset = IsPacked ? 4 : 8;

    /// <summary>Writes an entry at <paramref name="entry"/> (at least <see cref="Size"/> bytes).</summary>
    internal static void Write(byte* entry, uint events, ulong data)
    {
        // Unaligned: packed entries put the data at offset 4, and arrays of 12-byte entries misalign every other one.
        Unsafe.WriteUnaligned(entry, events);
        Unsafe.WriteUnaligned(entry + DataOffset, data);
    }

    /// <summary>The event mask of the entry at <paramref name="entry"/>.</summary>
    internal static uint ReadEvents(byte* entry) => Unsafe.ReadUnaligned<uint>(entry);

    /// <summary>The data of the entry at <paramref name="entry"/>.</summary>
    internal static ulong ReadData(byte* entry) => Unsafe.ReadUnaligned<ulong>(entry + DataOffset);
}

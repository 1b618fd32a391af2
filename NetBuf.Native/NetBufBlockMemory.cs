namespace NetBufNative;

/// <summary>Where a <see cref="NetBufPool"/>'s block of buffers lives (<see cref="NetBufPoolOptions.BlockMemory"/>).</summary>
public enum NetBufBlockMemory
{
    /// <summary>
    /// Native memory from <see cref="System.Runtime.InteropServices.NativeMemory.AlignedAlloc"/> (the
    /// default): any size the address space allows, never scanned by the GC, and for devices and
    /// kernel interfaces (an AF_XDP UMEM) exactly what they want.
    /// </summary>
    Native = 0,

    /// <summary>
    /// One array on the pinned object heap, aligned inside it: the memory never moves either, and
    /// <see cref="System.Runtime.InteropServices.MemoryMarshal.TryGetArray{T}"/> on a buffer's
    /// <see cref="Memory{T}"/> succeeds (an array segment, no copy), which consumers that need
    /// array-backed memory require, such as Kestrel's socket transport (it sends lists of
    /// <see cref="ArraySegment{T}"/>). The block is then limited to one array's size (about 2 GiB).
    /// </summary>
    PinnedArray = 1,
}

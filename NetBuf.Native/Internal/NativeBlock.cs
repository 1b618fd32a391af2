using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// Owns the pool's one native block. A <see cref="SafeHandle"/> so that the block is freed
/// exactly once: by the pool when it is disposed and the last buffer came back, or by the
/// handle's critical finalizer if the pool is abandoned without being disposed.
/// </summary>
internal sealed unsafe class NativeBlock : SafeHandle
{
    private NativeBlock(void* block)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle((IntPtr)block);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The block's first byte.</summary>
    public byte* Pointer => (byte*)handle;

    /// <summary>Allocates <paramref name="length"/> bytes aligned to <paramref name="alignment"/>; the contents are not touched.</summary>
    /// <exception cref="OutOfMemoryException">The allocation failed.</exception>
    public static NativeBlock Allocate(nuint length, nuint alignment) =>
        new(NativeMemory.AlignedAlloc(length, alignment));

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}

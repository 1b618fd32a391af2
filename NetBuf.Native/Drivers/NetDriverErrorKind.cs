namespace NetBufNative.Drivers;

/// <summary>
/// Why a driver operation failed: the kinds of the ArceOS driver crates' <c>DevError</c>, which
/// <see cref="NetDriverException.Kind"/> carries.
/// </summary>
public enum NetDriverErrorKind
{
    /// <summary>The thing to create already exists (a device name in use, say).</summary>
    AlreadyExists = 1,

    /// <summary>Try again later: no packet now, or a queue is full. The <c>Try*</c> methods report it as <see langword="false"/> instead.</summary>
    Again,

    /// <summary>The driver is in the wrong state for the operation (disposed, not up).</summary>
    BadState,

    /// <summary>An argument is invalid: a buffer of another pool, a size that does not fit a buffer.</summary>
    InvalidParam,

    /// <summary>An input/output error reported by the operating system or the device.</summary>
    Io,

    /// <summary>Out of memory: the pool has no buffer left, or the system refused memory.</summary>
    NoMemory,

    /// <summary>The device or resource is busy.</summary>
    ResourceBusy,

    /// <summary>The operation is not supported here (platform, device or missing privilege).</summary>
    Unsupported,
}

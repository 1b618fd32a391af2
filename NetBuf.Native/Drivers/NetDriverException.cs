namespace NetBufNative.Drivers;

/// <summary>
/// A driver operation failed: carries the <see cref="NetDriverErrorKind"/> (the seed's <c>DevError</c>)
/// and, when a system call failed, its <c>errno</c> and text. "No packet now" and "queue full"
/// are not exceptions on the <c>Try*</c> methods; they are <see langword="false"/>.
/// </summary>
public sealed class NetDriverException : IOException
{
    /// <summary>Creates the exception with kind <see cref="NetDriverErrorKind.Io"/>.</summary>
    public NetDriverException()
        : this(NetDriverErrorKind.Io, "A network driver operation failed.")
    {
    }

    /// <summary>Creates the exception with kind <see cref="NetDriverErrorKind.Io"/> and <paramref name="message"/>.</summary>
    /// <param name="message">What failed.</param>
    public NetDriverException(string message)
        : this(NetDriverErrorKind.Io, message)
    {
    }

    /// <summary>Creates the exception with kind <see cref="NetDriverErrorKind.Io"/>, <paramref name="message"/> and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public NetDriverException(string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = NetDriverErrorKind.Io;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="kind">Why it failed.</param>
    /// <param name="message">What failed and what to do about it.</param>
    /// <param name="errorNumber">The <c>errno</c> of a failed system call, or 0.</param>
    public NetDriverException(NetDriverErrorKind kind, string message, int errorNumber = 0)
        : base(message)
    {
        Kind = kind;
        ErrorNumber = errorNumber;
    }

    /// <summary>Why the operation failed.</summary>
    public NetDriverErrorKind Kind { get; }

    /// <summary>The <c>errno</c> of the system call that failed, or 0 when no system call failed.</summary>
    public int ErrorNumber { get; }
}

namespace NetBufNative;

/// <summary>
/// Thrown by <see cref="NetBufPool.Alloc"/>, <see cref="NetBufPool.AllocBoxed"/> and the other
/// throwing allocations when every buffer of the pool is in use. Derives from
/// <see cref="InvalidOperationException"/>, so existing handlers still catch it, while a caller can
/// tell "the pool is empty" (retry later, or use a <c>TryAlloc</c> method) from a misused handle.
/// </summary>
public sealed class NetBufPoolExhaustedException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public NetBufPoolExhaustedException()
        : base("The pool is exhausted: every buffer is in use.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What was exhausted.</param>
    public NetBufPoolExhaustedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    /// <param name="message">What was exhausted.</param>
    /// <param name="innerException">The cause.</param>
    public NetBufPoolExhaustedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

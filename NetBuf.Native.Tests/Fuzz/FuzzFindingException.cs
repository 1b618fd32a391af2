namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// Thrown by a fuzz target when the library broke a promise the target checks (a wrong answer, a
/// write outside a frame, a pool not intact afterwards). Like any exception that escapes a target,
/// AFL++ records the input as a crash; the replay test reports the message.
/// </summary>
public sealed class FuzzFindingException : Exception
{
    /// <summary>Creates a finding with no message.</summary>
    public FuzzFindingException()
    {
    }

    /// <summary>Creates a finding.</summary>
    /// <param name="message">What went wrong.</param>
    public FuzzFindingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates a finding caused by another exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public FuzzFindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Throws a finding unless <paramref name="condition"/> holds.</summary>
    /// <param name="condition">What must hold.</param>
    /// <param name="message">What went wrong when it does not.</param>
    public static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzFindingException(message);
        }
    }
}

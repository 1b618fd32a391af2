using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace NetBufNative.Internal;

/// <summary>Throw sites kept out of line so that the hot paths stay small and inlinable.</summary>
[StackTraceHidden]
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, int actual, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actual, message);

    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void ThrowObjectDisposed(string objectName, string message) =>
        throw new ObjectDisposedException(objectName, message);

    [DoesNotReturn]
    public static void ThrowNoBuffer() =>
        throw new InvalidOperationException(
            "This handle holds no buffer: it is default, or its buffer was moved into a NetBufBox or a NetBufPtr.");

    [DoesNotReturn]
    public static void ThrowLengthOutOfRange(string paramName, int length, int available, string region) =>
        throw new ArgumentOutOfRangeException(
            paramName,
            length,
            $"The length must be between 0 and {available} (the {region} available); nothing was changed.");
}

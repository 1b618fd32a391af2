using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>An action on a <see cref="NetBuf"/>, which lambdas cannot capture (it is a ref struct).</summary>
internal delegate void NetBufAction(ref NetBuf buffer);

/// <summary>Assert.Throws for ref struct handles.</summary>
internal static class Expect
{
    /// <summary>Asserts that <paramref name="action"/> throws exactly <typeparamref name="T"/> on a copy of the handle
    /// (using variables cannot be passed by ref; nothing that throws changes the handle).</summary>
    public static T Throws<T>(NetBuf buffer, NetBufAction action)
        where T : Exception
    {
        try
        {
            action(ref buffer);
        }
        catch (Exception ex) when (ex.GetType() == typeof(T))
        {
            return (T)ex;
        }
        catch (Exception ex)
        {
            Assert.Fail($"Expected {typeof(T).Name} but got {ex.GetType().Name}: {ex.Message}");
        }

        Assert.Fail($"Expected {typeof(T).Name} but nothing was thrown.");
        return null!;
    }
}

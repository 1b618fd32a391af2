namespace NetBufNative.Tests.Fuzz;

/// <summary>Reads a fuzz input as a stream of choices: bytes and little numbers, zero once it runs out.</summary>
internal ref struct InputReader
{
    private readonly ReadOnlySpan<byte> _input;
    private int _position;

    /// <summary>Reads <paramref name="input"/> from its start.</summary>
    /// <param name="input">The fuzz input.</param>
    public InputReader(ReadOnlySpan<byte> input) => _input = input;

    /// <summary>Whether every byte was read.</summary>
    public readonly bool IsAtEnd => _position >= _input.Length;

    /// <summary>The bytes not read yet.</summary>
    public readonly ReadOnlySpan<byte> Rest => _input[Math.Min(_position, _input.Length)..];

    /// <summary>The next byte, or 0.</summary>
    /// <returns>The byte.</returns>
    public byte Byte() => _position < _input.Length ? _input[_position++] : (byte)0;

    /// <summary>The next two bytes, big-endian, or what is left of them.</summary>
    /// <returns>The number.</returns>
    public ushort UInt16() => (ushort)((Byte() << 8) | Byte());

    /// <summary>The next four bytes as a signed number.</summary>
    /// <returns>The number.</returns>
    public int Int32() => (UInt16() << 16) | UInt16();

    /// <summary>The next eight bytes.</summary>
    /// <returns>The number.</returns>
    public ulong UInt64() => ((ulong)(uint)Int32() << 32) | (uint)Int32();

    /// <summary>The next <paramref name="count"/> bytes (fewer at the end).</summary>
    /// <param name="count">How many.</param>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        ReadOnlySpan<byte> bytes = Rest[..Math.Min(count, Rest.Length)];
        _position += bytes.Length;
        return bytes;
    }

    /// <summary>A length-prefixed chunk: two bytes of length (big-endian), then that many bytes or what is left.</summary>
    /// <returns>The chunk.</returns>
    public ReadOnlySpan<byte> Chunk() => Bytes(UInt16());
}

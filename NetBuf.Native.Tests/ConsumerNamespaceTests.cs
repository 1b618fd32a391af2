// Written from a consumer's side: a namespace unrelated to the library's, and one using
// directive. If the library had a namespace named NetBuf (say NetBuf.Native), the name NetBuf
// below would bind to that namespace and this file would not compile (CS0118).
using NetBufNative;
using NUnit.Framework;

namespace Contoso.PacketProcessing;

public sealed class ConsumerNamespaceTests
{
    [Test]
    public void Every_public_type_can_be_named_after_one_using()
    {
        NetBufPoolOptions options = new() { Name = "consumer" };
        using NetBufPool pool = new(2, NetBufPool.MinBufferLength, options);
        using NetBuf buf = pool.Alloc();
        buf.Append(4).Fill(1);
        NetBufBox box = buf.IntoBox();
        NetBufPtr ptr = box.IntoBufPtr();
        NetBuf back = pool.FromBufPtr(ptr);
        Assert.That(back.PacketLength, Is.EqualTo(4));
        back.Dispose();
        Assert.That(pool.Available, Is.EqualTo(2));
    }
}

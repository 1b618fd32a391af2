using NetBufNative.Internal;

namespace NetBufNative.Bench;

/// <summary>The pool's free list alone: what a pair would cost with no handle checks and no thread cache.</summary>
internal sealed class BareStack
{
    internal BareStack(int capacity)
    {
        Slots = SlotTable.Allocate(capacity);
        List.Initialize(Slots);
    }

    internal SlotTable Slots { get; }

#pragma warning disable SA1401, CA1051 // The list is a mutable struct used in place.
    internal IndexFreeList<AbaTaggedPolicy> List;
#pragma warning restore SA1401, CA1051
}

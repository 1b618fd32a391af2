using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>How a <see cref="TapDriver"/> creates or attaches its device. Immutable once built; thread-safe to share.</summary>
public sealed class TapDriverOptions
{
    /// <summary>The named network namespace (from <c>ip netns add</c>) to create the device in; <see langword="null"/> (the default) for the caller's own. Entering a named namespace needs CAP_SYS_ADMIN (root has it).</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>
    /// The driver's own hardware address (<see cref="TapDriver.MacAddress"/>): the address of the program's side of the
    /// cable, which it sends from. <see langword="null"/> (the default): a random locally administered unicast address.
    /// </summary>
    public MacAddress? MacAddress { get; init; }

    /// <summary>A hardware address to give the kernel's side, the interface (<see cref="TapDriver.KernelMacAddress"/>);
    /// <see langword="null"/> (the default) keeps the one the kernel chose.</summary>
    public MacAddress? KernelMacAddress { get; init; }

    /// <summary>Whether to set the interface administratively up (<c>ip link set up</c>); <see langword="true"/> by default.</summary>
    public bool BringUp { get; init; } = true;

    /// <summary>Buffers the receive queue holds (posted empty ones), 1 to 65536; <see cref="TapDriver.DefaultQueueSize"/> by default.</summary>
    public int RxQueueSize { get; init; } = TapDriver.DefaultQueueSize;

    /// <summary>Sent buffers the transmit queue holds until <see cref="NetDriver.RecycleTxBuffers"/>, 1 to 65536; <see cref="TapDriver.DefaultQueueSize"/> by default.</summary>
    public int TxQueueSize { get; init; } = TapDriver.DefaultQueueSize;
}

namespace NetBufNative.Drivers.Linux;

/// <summary>The argument checks of the Linux drivers' constructors (the checks of every call are the driver core's, <see cref="NetDriver"/>).</summary>
internal static class FrameChecks
{
    /// <summary>Validates a driver's queue size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not between 1 and 65536 (a large NIC ring).</exception>
    internal static void QueueSize(int size, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 1 << 16, name);
    }

    /// <summary>Validates an interface name the way the kernel does (<c>dev_valid_name</c>): 1 to 15 ASCII bytes, not <c>.</c> or <c>..</c>, no <c>/</c>, <c>:</c> or white space.</summary>
    /// <exception cref="NetDriverException">The name is not valid (InvalidParam).</exception>
    internal static void InterfaceName(string name)
    {
        bool valid = name.Length is > 0 and <= LinuxConstants.MaxInterfaceNameLength && name is not "." and not "..";
        foreach (char c in name)
        {
            valid &= c is > ' ' and < (char)0x7F and not '/' and not ':';
        }

        if (!valid)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"'{name}' is not an interface name: 1 to {LinuxConstants.MaxInterfaceNameLength} printable ASCII characters, without '/', ':' or spaces.");
        }
    }

    /// <summary>How a driver names itself as a holder of its pool's buffers (<see cref="NetDriver.ReservePoolBuffers"/>).</summary>
    internal static string Owner(string kind, string device, string? networkNamespace) =>
        networkNamespace is null ? $"the {kind} driver of {device}" : $"the {kind} driver of {device} in namespace {networkNamespace}";
}

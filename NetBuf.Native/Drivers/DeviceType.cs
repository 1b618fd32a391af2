namespace NetBufNative.Drivers;

/// <summary>The kind of device a driver drives (the seed's <c>BaseDriverOps::device_type</c>).</summary>
public enum DeviceType
{
    /// <summary>A block device.</summary>
    Block = 1,

    /// <summary>A character device.</summary>
    Character,

    /// <summary>A network device: every driver of this library.</summary>
    Net,

    /// <summary>A display device.</summary>
    Display,
}

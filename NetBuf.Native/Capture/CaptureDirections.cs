namespace NetBufNative.Capture;

/// <summary>Which frames a <see cref="CapturingDriver"/> records.</summary>
[Flags]
public enum CaptureDirections
{
    /// <summary>Nothing (not accepted by <see cref="CapturingDriver"/>; the default of the type).</summary>
    None = 0,

    /// <summary>Frames the driver received.</summary>
    Received = 1,

    /// <summary>Frames the driver accepted for transmission.</summary>
    Transmitted = 2,

    /// <summary>Both.</summary>
    Both = Received | Transmitted,
}

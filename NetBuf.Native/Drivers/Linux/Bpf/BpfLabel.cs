namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>A jump target of a <see cref="BpfEmitter"/>: made by <see cref="BpfEmitter.DefineLabel"/>, placed by <see cref="BpfEmitter.Mark"/>.</summary>
internal readonly record struct BpfLabel(int Id);

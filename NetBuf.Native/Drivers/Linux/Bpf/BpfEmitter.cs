using static NetBufNative.Drivers.Linux.Bpf.BpfConstants;

namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>
/// Builds an eBPF program one typed instruction at a time (registers, sizes, operations and
/// conditions are enums, jumps go to labels), so a program is written in C# and checked by the
/// compiler rather than assembled from numbers. The kernel's verifier still judges the result.
/// </summary>
/// <remarks>Not thread-safe: one builder per program. Allocates while building (once per driver).</remarks>
internal sealed class BpfEmitter
{
    private readonly List<BpfInstruction> _instructions = [];
    private readonly List<int> _labelPositions = [];
    private readonly List<(int Instruction, int Label)> _fixups = [];

    /// <summary>How many instruction slots are emitted so far (<c>ld_imm64</c> takes two).</summary>
    internal int Count => _instructions.Count;

    /// <summary>A new label, to be placed with <see cref="Mark"/>.</summary>
    internal BpfLabel DefineLabel()
    {
        _labelPositions.Add(-1);
        return new BpfLabel(_labelPositions.Count - 1);
    }

    /// <summary>Places <paramref name="label"/> at the next instruction.</summary>
    /// <exception cref="InvalidOperationException">It is placed already.</exception>
    internal void Mark(BpfLabel label)
    {
        if (_labelPositions[label.Id] >= 0)
        {
            throw new InvalidOperationException($"Label {label.Id} is placed twice.");
        }

        _labelPositions[label.Id] = _instructions.Count;
    }

    /// <summary><c>dst = imm</c> (64-bit, sign-extended).</summary>
    internal void MovImmediate(BpfRegister destination, int immediate) => Alu(BpfAluOp.Mov, destination, immediate);

    /// <summary><c>dst = src</c> (64-bit).</summary>
    internal void Mov(BpfRegister destination, BpfRegister source) => Alu(BpfAluOp.Mov, destination, source);

    /// <summary><c>dst op= imm</c> (64-bit).</summary>
    internal void Alu(BpfAluOp operation, BpfRegister destination, int immediate) =>
        Emit(new BpfInstruction((byte)(BPF_ALU64 | (byte)operation | BPF_K), destination, 0, 0, immediate));

    /// <summary><c>dst op= src</c> (64-bit).</summary>
    internal void Alu(BpfAluOp operation, BpfRegister destination, BpfRegister source) =>
        Emit(new BpfInstruction((byte)(BPF_ALU64 | (byte)operation | BPF_X), destination, (byte)source, 0, 0));

    /// <summary><c>dst = *(size *)(src + offset)</c>, zero-extended.</summary>
    internal void Load(BpfSize size, BpfRegister destination, BpfRegister source, short offset) =>
        Emit(new BpfInstruction((byte)(BPF_LDX | BPF_MEM | (byte)size), destination, (byte)source, offset, 0));

    /// <summary><c>dst = map</c>: the two-slot <c>ld_imm64</c> whose immediate the kernel turns from a map's descriptor into the map.</summary>
    internal void LoadMapFd(BpfRegister destination, int mapFd)
    {
        Emit(new BpfInstruction((byte)(BPF_LD | BPF_IMM | (byte)BpfSize.Double), destination, BPF_PSEUDO_MAP_FD, 0, mapFd));
        Emit(default);
    }

    /// <summary><c>if (dst cond imm) goto label</c>, unsigned, 64-bit.</summary>
    internal void JumpIf(BpfCondition condition, BpfRegister destination, int immediate, BpfLabel label) =>
        Jump(new BpfInstruction((byte)(BPF_JMP | (byte)condition | BPF_K), destination, 0, 0, immediate), label);

    /// <summary><c>if (dst cond src) goto label</c>, unsigned, 64-bit.</summary>
    internal void JumpIf(BpfCondition condition, BpfRegister destination, BpfRegister source, BpfLabel label) =>
        Jump(new BpfInstruction((byte)(BPF_JMP | (byte)condition | BPF_X), destination, (byte)source, 0, 0), label);

    /// <summary><c>goto label</c>.</summary>
    internal void Goto(BpfLabel label) => Jump(new BpfInstruction(BPF_JMP | BPF_JA, BpfRegister.R0, 0, 0, 0), label);

    /// <summary><c>r0 = helper(r1, ..., r5)</c>.</summary>
    internal void Call(int helper) => Emit(new BpfInstruction(BPF_JMP | BPF_CALL, BpfRegister.R0, 0, 0, helper));

    /// <summary><c>return r0</c>.</summary>
    internal void Exit() => Emit(new BpfInstruction(BPF_JMP | BPF_EXIT, BpfRegister.R0, 0, 0, 0));

    /// <summary>Appends a raw instruction (tests: to build what the typed methods would not).</summary>
    internal void Emit(BpfInstruction instruction) => _instructions.Add(instruction);

    /// <summary>The program, every jump resolved.</summary>
    /// <exception cref="InvalidOperationException">A jump goes to a label that was never placed, or too far for a 16-bit offset.</exception>
    internal BpfInstruction[] ToArray()
    {
        BpfInstruction[] program = [.. _instructions];
        foreach ((int instruction, int label) in _fixups)
        {
            int target = _labelPositions[label];
            if (target < 0)
            {
                throw new InvalidOperationException($"A jump at instruction {instruction} goes to label {label}, which was never placed.");
            }

            // Jump offsets count from the instruction after the jump.
            int distance = target - instruction - 1;
            if (distance is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException($"A jump at instruction {instruction} spans {distance} instructions, beyond a 16-bit offset.");
            }

            program[instruction] = program[instruction].WithOffset((short)distance);
        }

        return program;
    }

    private void Jump(BpfInstruction instruction, BpfLabel label)
    {
        _fixups.Add((_instructions.Count, label.Id));
        Emit(instruction);
    }
}

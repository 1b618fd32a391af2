using System.Globalization;
using System.Runtime.InteropServices;

namespace NetBufNative.Bench;

/// <summary>
/// The machine a run measured, in one line: the CPU model (from <c>/proc/cpuinfo</c> where there is
/// one), the logical core count, the runtime and the OS. Printed at the top of the output and with
/// every table, because the VM's CPU is not always the one the docs name.
/// </summary>
internal static class Machine
{
    private static readonly Lazy<string> s_line = new(Describe);

    // ProcessWideBarrier.Description is reset to empty by its own initializer, which runs after the one of
    // OwnerMustFence that sets it: run the check again (idempotent) to get the reason.
    private static readonly Lazy<string> s_barrier = new(() =>
    {
        _ = Internal.ProcessWideBarrier.IsProcessWideBarrierReliable();
        return Internal.ProcessWideBarrier.Description;
    });

    /// <summary>What the times are measured with (set by the program before the first table).</summary>
    public static string Clock { get; set; } = "wall clock";

    /// <summary>Whether the times are CPU time (summed over threads) rather than wall time.</summary>
    public static bool CpuTime { get; set; }

    /// <summary>The machine line.</summary>
    public static string Line => s_line.Value;

    /// <summary>Prints the machine line as a comment line of the output, with the load average now
    /// (other work on a shared VM moves the numbers) and how the thread caches' handshake is fenced.</summary>
    public static void Print() =>
        Console.WriteLine(
            $"// Machine: {Line}; load average now {LoadAverage()}; owner fence {(Internal.ProcessWideBarrier.OwnerMustFence ? "on" : "off")} " +
            $"({s_barrier.Value}); times: {Clock}");

    /// <summary>The load average now (1, 5, 15 minutes), or "unknown".</summary>
    public static string LoadAverage()
    {
        const string LoadAvg = "/proc/loadavg";
        return File.Exists(LoadAvg) ? string.Join(' ', File.ReadAllText(LoadAvg).Split(' ').Take(3)) : "unknown";
    }

    private static string Describe()
    {
        string cpu = CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{cpu}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.FrameworkDescription} " +
            $"({RuntimeInformation.RuntimeIdentifier}), {RuntimeInformation.OSDescription}");
    }

    private static string? CpuModel()
    {
        const string CpuInfo = "/proc/cpuinfo";
        if (!File.Exists(CpuInfo))
        {
            return null;
        }

        string? model = null;
        string? family = null;
        string? number = null;
        foreach (string line in File.ReadLines(CpuInfo))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (model is null && key == "model name")
            {
                model = value;
            }
            else if (family is null && key == "cpu family")
            {
                family = value;
            }
            else if (number is null && key == "model")
            {
                number = value;
            }

            if (model is not null && family is not null && number is not null)
            {
                break;
            }
        }

        // The model name alone can be as vague as "AMD EPYC" in a VM; family and model tell the core.
        return model is null || family is null ? model : $"{model} (family {family}, model {number})";
    }
}

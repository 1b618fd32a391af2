namespace NetBufNative.Tests;

/// <summary>
/// How long the stress tests hammer the pool. The budgets are written for CI; the mutation run
/// (<c>.ci/mutation</c>) reruns the covering tests for each of about a thousand mutants and sets
/// <c>NETBUF_STRESS_SCALE</c> (for example 0.1) so that it finishes in hours instead of a day. A
/// scaled run can only miss bugs, never invent them: the minimums of work and the deadlines are
/// not scaled, and a mutant that survives a scaled run is reported as surviving.
/// </summary>
internal static class StressBudget
{
    /// <summary>The factor from <c>NETBUF_STRESS_SCALE</c>, between 0.01 and 1; 1 when it is not set
    /// or not a number.</summary>
    public static readonly double Scale = ReadScale();

    /// <summary><paramref name="seconds"/> times <see cref="Scale"/>.</summary>
    public static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds * Scale);

    /// <summary><paramref name="operations"/> times <see cref="Scale"/>, at least 1.</summary>
    public static int Operations(int operations) => Math.Max(1, (int)(operations * Scale));

    private static double ReadScale()
    {
        string? text = Environment.GetEnvironmentVariable("NETBUF_STRESS_SCALE");
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double scale)
            ? Math.Clamp(scale, 0.01, 1.0)
            : 1.0;
    }
}

using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// Replays the committed AFL++ corpus (Fuzz/corpus/TARGET/, made by Fuzz/run.sh) and the built-in
/// seeds through the very targets the fuzzer ran, in this process: any exception that escapes, any
/// broken check, or a fault (the frames end at a guard page) fails the run. Seconds, not minutes.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static readonly string CorpusRoot = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzz", "corpus");

    private static IEnumerable<string> Targets => FuzzTargets.All.Keys;

    [TestCaseSource(nameof(Targets))]
    public void Every_corpus_input_and_seed_passes_the_target_checks(string target)
    {
        Action<byte[]> run = FuzzTargets.All[target];
        string folder = Path.Combine(CorpusRoot, target);
        string[] files = Directory.Exists(folder) ? Directory.GetFiles(folder) : [];
        Assert.That(files, Is.Not.Empty, $"no committed corpus for {target} in {folder}: run Fuzz/run.sh with MINIMIZE=1");

        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        IEnumerable<(string Name, byte[] Input)> inputs =
            FuzzTargets.Seeds(target).Select(s => ($"seed {s.Name}", s.Input))
            .Concat(files.Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))));
        int count = 0;
        foreach ((string name, byte[] input) in inputs)
        {
            count++;
            try
            {
                run(input);
            }
#pragma warning disable CA1031 // Every exception out of a target is a finding, reported with its input.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{name} ({input.Length} bytes, {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 64)))}...): {e}");
            }
        }

        TestContext.Out.WriteLine($"{target}: {count} inputs in {watch.Elapsed.TotalMilliseconds:F0} ms");
        Assert.That(failures, Is.Empty, $"{failures.Count} of {count} inputs failed:\n{string.Join("\n", failures.Take(5))}");
    }

    [Test]
    public void The_forged_pointer_layout_matches_the_internal_constructor()
    {
        // The harness forges NetBufPtr values through a mirror struct; this project can also call the
        // internal constructor, so check that both give the same pointer for the same fields.
        var fields = new NetBufPtrForge.Fields { Buffer = 0x1234_5678, Index = 7, Token = 0xDEAD_BEEF_0000_0042, Regions = 0x0040_0000_0000_0064 };
        var real = new NetBufPtr(fields.Buffer, fields.Index, fields.Token, fields.Regions);
        Assert.That(NetBufPtrForge.Make(fields), Is.EqualTo(real));
        Assert.That(NetBufPtrForge.Read(real), Is.EqualTo(fields));
        Assert.That(NetBufPtrForge.Read(real).Token, Is.EqualTo(real.Token));

        using var pool = new NetBufPool(1, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        Assert.DoesNotThrow(() => NetBufPtrForge.VerifyLayout(pool));
        Assert.That(pool.Available, Is.EqualTo(1));
    }

    [Test]
    public void A_frame_placed_in_the_guarded_page_ends_where_memory_ends()
    {
        byte[] data = [1, 2, 3];
        Span<byte> placed = GuardedPage.Place(data);
        Assert.That(placed.ToArray(), Is.EqualTo(data));
        Assert.That(GuardedPage.IsWithin(placed[1..], placed), Is.True);
        Assert.That(GuardedPage.IsWithin(placed[3..], placed), Is.True, "an empty view at the end is inside");
        Assert.That(GuardedPage.IsWithin(data, placed), Is.False);
        Assert.That(GuardedPage.Place(new byte[GuardedPage.Size + 10]).Length, Is.EqualTo(GuardedPage.Size), "cut to one page");
    }
}

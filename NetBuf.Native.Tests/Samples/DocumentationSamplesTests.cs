using System.Text.RegularExpressions;
using NUnit.Framework;

namespace NetBufNative.Tests.Samples;

/// <summary>
/// Every C# block in README.md, PACKAGE.md and docs/*.md must be one of the samples (or stub
/// types) in UsageSamples.cs, which compile and run as tests: so no sample in the docs can rot.
/// </summary>
public sealed partial class DocumentationSamplesTests
{
    [Test]
    public void Every_csharp_block_in_the_docs_is_a_compiled_and_tested_sample()
    {
        string root = PackageTests.RepositoryRoot();
        string samples = File.ReadAllText(Path.Combine(root, "NetBuf.Native.Tests", "Samples", "UsageSamples.cs"));
        var sampleBodies = SampleRegion().Matches(samples).Select(m => Normalize(m.Groups["body"].Value)).ToList();
        var stubBodies = StubRegion().Matches(samples).Select(m => Normalize(m.Groups["body"].Value)).ToList();
        Assert.That(sampleBodies, Is.Not.Empty);

        var documents = new[] { Path.Combine(root, "README.md"), Path.Combine(root, "PACKAGE.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md"));
        int blocks = 0;
        foreach (string document in documents)
        {
            foreach (Match block in CsharpBlock().Matches(File.ReadAllText(document)))
            {
                blocks++;
                string code = Normalize(block.Groups["code"].Value);
                Assert.That(
                    sampleBodies.Concat(stubBodies).Any(body => body == code),
                    Is.True,
                    $"A C# block in {Path.GetFileName(document)} is not a sample of UsageSamples.cs:\n{code}");
            }
        }

        Assert.That(blocks, Is.GreaterThanOrEqualTo(sampleBodies.Count), "every sample is shown somewhere");
    }

    /// <summary>Compares code by its lines without indentation and blank lines.</summary>
    private static string Normalize(string code) =>
        string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"// sample: [\w-]+[^\n]*\n(?<body>.*?)// end sample", RegexOptions.Singleline)]
    private static partial Regex SampleRegion();

    [GeneratedRegex(@"// stub: [^\n]*\n(?<body>.*?)// end stub", RegexOptions.Singleline)]
    private static partial Regex StubRegion();

    [GeneratedRegex(@"```csharp\r?\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CsharpBlock();
}

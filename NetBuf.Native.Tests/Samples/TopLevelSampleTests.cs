using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace NetBufNative.Tests.Samples;

/// <summary>
/// Compiles every sample of UsageSamples.cs as a user would paste it into the Program.cs of a new
/// project: top-level statements with the implicit usings of a console app (of a web app for
/// "(web)" samples), nullable on, against the reference assemblies of .NET 10 (and ASP.NET Core
/// for web samples) and NetBuf.Native, with Roslyn in process. Only the sample's "given:"
/// statements (its free variables) and the "stub:" types are added. A sample marked "(unsafe)"
/// must compile with AllowUnsafeBlocks and fail without it, as its docs say.
/// </summary>
public sealed partial class TopLevelSampleTests
{
    /// <summary>The global usings of a console project (Microsoft.NET.Sdk with ImplicitUsings).</summary>
    private static readonly string[] s_consoleUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    /// <summary>What Microsoft.NET.Sdk.Web adds to them.</summary>
    private static readonly string[] s_webUsings =
        ["System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
         "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
         "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging"];

    [Test]
    public void Every_sample_compiles_as_a_users_top_level_program()
    {
        string source = File.ReadAllText(Path.Combine(PackageTests.RepositoryRoot(), "NetBuf.Native.Tests", "Samples", "UsageSamples.cs"));
        var usings = UsingDirective().Matches(source).Select(m => m.Groups["ns"].Value).Where(ns => !ns.StartsWith("NUnit", StringComparison.Ordinal)).ToList();
        var givens = GivenRegion().Matches(source).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["body"].Value);
        var stubs = StubRegion().Matches(source).Select(m => (Web: m.Groups["web"].Success, Body: m.Groups["body"].Value)).ToList();
        var samples = SampleRegion().Matches(source).ToList();
        Assert.That(samples, Has.Count.GreaterThanOrEqualTo(10));

        MetadataReference[] console = References(web: false);
        MetadataReference[] web = References(web: true);
        var failures = new List<string>();
        foreach (Match sample in samples)
        {
            string name = sample.Groups["name"].Value;
            bool isWeb = sample.Groups["flag"].Value == "web";
            bool isUnsafe = sample.Groups["flag"].Value == "unsafe";
            string[] implicitUsings = isWeb ? [.. s_consoleUsings, .. s_webUsings] : s_consoleUsings;
            string program = string.Join('\n', implicitUsings.Select(ns => $"global using {ns};"))
                + "\n" + string.Join('\n', usings.Where(ns => (isWeb || !IsWebNamespace(ns)) && !implicitUsings.Contains(ns)).Select(ns => $"using {ns};"))
                + "\n" + givens.GetValueOrDefault(name, string.Empty)
                + "\n" + sample.Groups["body"].Value
                + "\n" + string.Join('\n', stubs.Where(s => isWeb || !s.Web).Select(s => s.Body));

            string[] errors = Compile(program, isWeb ? web : console, allowUnsafe: isUnsafe);
            if (errors.Length > 0)
            {
                failures.Add($"sample {name}:\n  {string.Join("\n  ", errors)}");
            }

            if (isUnsafe)
            {
                Assert.That(Compile(program, console, allowUnsafe: false), Has.Some.Contains("CS0227"),
                    $"sample {name} is marked (unsafe): without AllowUnsafeBlocks it must not compile");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    private static bool IsWebNamespace(string ns) =>
        ns.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || ns.StartsWith("Microsoft.Extensions", StringComparison.Ordinal);

    /// <summary>Errors and warnings, as a new project (nullable on, warnings shown) would report them.</summary>
    private static string[] Compile(string program, MetadataReference[] references, bool allowUnsafe)
    {
        var compilation = CSharpCompilation.Create(
            "Program",
            [CSharpSyntaxTree.ParseText(program, new CSharpParseOptions(LanguageVersion.Latest), path: "Program.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: allowUnsafe));
        return compilation.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d => d.ToString())
            .ToArray();
    }

    /// <summary>
    /// The reference assemblies a project compiles against (the targeting packs beside the running
    /// runtime), and NetBuf.Native as the package gives it.
    /// </summary>
    private static MetadataReference[] References(bool web)
    {
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;      // dotnet/shared/Microsoft.NETCore.App/<version>
        string dotnet = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        var packs = new List<string> { "Microsoft.NETCore.App.Ref" };
        if (web)
        {
            packs.Add("Microsoft.AspNetCore.App.Ref");
        }

        var files = new List<string>();
        foreach (string pack in packs)
        {
            string? newest = Directory.GetDirectories(Path.Combine(dotnet, "packs", pack))
                .Where(d => Path.GetFileName(d).StartsWith("10.", StringComparison.Ordinal))
                .OrderBy(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out Version? v) ? v : new Version())
                .LastOrDefault();
            Assert.That(newest, Is.Not.Null, $"the SDK's {pack} targeting pack for .NET 10");
            files.AddRange(Directory.GetFiles(Path.Combine(newest!, "ref", "net10.0"), "*.dll"));
        }

        files.Add(typeof(NetBufPool).Assembly.Location);
        return files.Select(f => (MetadataReference)MetadataReference.CreateFromFile(f)).ToArray();
    }

    [GeneratedRegex(@"^using (?<ns>[\w.]+);", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"// sample: (?<name>[\w-]+)(?: \((?<flag>unsafe|web)\))?\r?\n(?<body>.*?)// end sample", RegexOptions.Singleline)]
    private static partial Regex SampleRegion();

    [GeneratedRegex(@"// given: (?<name>[\w-]+)\r?\n(?<body>.*?)// end given", RegexOptions.Singleline)]
    private static partial Regex GivenRegion();

    [GeneratedRegex(@"// stub: \w+(?<web> \(web\))?\r?\n(?<body>.*?)// end stub", RegexOptions.Singleline)]
    private static partial Regex StubRegion();
}

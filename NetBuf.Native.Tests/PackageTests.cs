using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Packs the library as CI would publish it (once for the fixture), checks what the package holds,
/// and consumes it as a user would: a new console app restoring it from a local folder feed.
/// </summary>
[NonParallelizable]
public sealed partial class PackageTests
{
    private string _output = null!;
    private string _package = null!;
    private string _symbols = null!;

    [OneTimeSetUp]
    public void Pack()
    {
        _output = Path.Combine(Path.GetTempPath(), "netbuf-pack-" + Guid.NewGuid().ToString("N"));
        Run(RepositoryRoot(), "pack", Path.Combine(RepositoryRoot(), "NetBuf.Native", "NetBuf.Native.csproj"), "-c", "Release", "-o", _output, "--nologo");
        _package = Directory.GetFiles(_output, "NetBuf.Native.*.nupkg").Single();
        _symbols = Directory.GetFiles(_output, "NetBuf.Native.*.snupkg").Single();
    }

    [OneTimeTearDown]
    public void DeleteOutput()
    {
        if (Directory.Exists(_output))
        {
            Directory.Delete(_output, recursive: true);
        }
    }

    [Test]
    public void The_package_holds_the_library_its_docs_license_and_metadata()
    {
        using ZipArchive zip = ZipFile.OpenRead(_package);
        var entries = zip.Entries.Select(e => e.FullName).ToList();
        Assert.That(entries, Does.Contain("lib/net10.0/NetBuf.Native.dll"));
        Assert.That(entries, Does.Contain("lib/net10.0/NetBuf.Native.xml"), "XML documentation ships");
        Assert.That(entries, Does.Contain("README.md"));
        Assert.That(entries, Does.Contain("LICENSE"));

        using Stream nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        XElement metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        Assert.That(Field("id"), Is.EqualTo("NetBuf.Native"));
        Assert.That(Field("version"), Does.Match(@"^\d+\.\d+\.\d+"));
        Assert.That(Field("license"), Is.EqualTo("MIT"));
        Assert.That(Field("readme"), Is.EqualTo("README.md"));
        Assert.That(Field("tags"), Does.Contain("packet").And.Contain("lock-free"));
        Assert.That(Field("description"), Does.Contain("native"));

        // The package page shows PACKAGE.md: a link there must work outside the repository.
        using var readme = new StreamReader(zip.GetEntry("README.md")!.Open());
        string page = readme.ReadToEnd();
        Assert.That(page, Is.EqualTo(File.ReadAllText(Path.Combine(RepositoryRoot(), "PACKAGE.md"))));
        var relativeLinks = MarkdownLink().Matches(page).Select(m => m.Groups["target"].Value)
            .Where(target => !target.StartsWith("https://", StringComparison.Ordinal)).ToList();
        Assert.That(relativeLinks, Is.Empty, "links that only work inside the repository");

        // The LICENSE file matches the MIT expression.
        using var license = new StreamReader(zip.GetEntry("LICENSE")!.Open());
        Assert.That(license.ReadToEnd(), Does.StartWith("MIT License").And.Contain("Permission is hereby granted, free of charge"));
    }

    [Test]
    public void The_symbols_are_deterministic_with_source_paths_under_the_root_placeholder()
    {
        using ZipArchive zip = ZipFile.OpenRead(_symbols);
        ZipArchiveEntry pdb = zip.GetEntry("lib/net10.0/NetBuf.Native.pdb")!;
        Assert.That(pdb, Is.Not.Null);
        using var copy = new MemoryStream();
        using (Stream stream = pdb.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        using MetadataReaderProvider provider = MetadataReaderProvider.FromPortablePdbStream(copy);
        MetadataReader reader = provider.GetMetadataReader();
        var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).ToList();
        Assert.That(documents, Has.Some.EndsWith("NetBufPool.cs"));
        Assert.That(documents.Where(d => !d.StartsWith("/_/", StringComparison.Ordinal)), Is.Empty,
            "every source path is mapped to /_/, none is the build machine's");
    }

    [Test]
    public void A_new_console_app_consumes_the_package_from_a_local_folder_feed()
    {
        // The README's path: pack into a folder, point a nuget.config at it, reference the package.
        // A private package cache keeps the machine's cache free of this build's version.
        string app = Path.Combine(_output, "ConsumerApp");
        Directory.CreateDirectory(app);
        string version = Path.GetFileNameWithoutExtension(_package)["NetBuf.Native.".Length..];
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <clear />
                <add key="netbuf-local" value="{_output}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NetBuf.Native" Version="{version}" />
              </ItemGroup>
            </Project>
            """);

        // Program.cs is the README's first program, as pasted.
        string samples = File.ReadAllText(Path.Combine(RepositoryRoot(), "NetBuf.Native.Tests", "Samples", "UsageSamples.cs"));
        string quickStart = Regex.Match(samples, @"// sample: quick-start\r?\n(?<body>.*?)// end sample", RegexOptions.Singleline).Groups["body"].Value;
        File.WriteAllText(Path.Combine(app, "Program.cs"), "using NetBufNative;\n\n" + quickStart);

        string output = Run(app, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_output, "packages") },
            "run", "-c", "Release", "--nologo");
        Assert.That(output, Does.Contain("bytes on the wire").And.Contain("0 of 1024 buffers in use"));
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "NetBuf.Native.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (NetBuf.Native.sln) was not found.");
    }

    private static string Run(string directory, params string[] arguments) => Run(directory, new Dictionary<string, string>(), arguments);

    private static string Run(string directory, Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (KeyValuePair<string, string> variable in environment)
        {
            start.Environment[variable.Key] = variable.Value;
        }

        using var process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string log = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        log += error.Result;
        Assert.That(process.ExitCode, Is.Zero, $"dotnet {string.Join(' ', arguments)}:\n{log}");
        return log;
    }

    [GeneratedRegex(@"\]\((?<target>[^)]+)\)")]
    private static partial Regex MarkdownLink();
}

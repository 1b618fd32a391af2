using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>Packs the library as CI would publish it and checks what the package holds.</summary>
[NonParallelizable]
public sealed class PackageTests
{
    [Test]
    public void Dotnet_pack_produces_a_complete_package_and_symbols_package()
    {
        string root = RepositoryRoot();
        string output = Path.Combine(Path.GetTempPath(), "netbuf-pack-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo("dotnet", ["pack", Path.Combine(root, "NetBuf.Native", "NetBuf.Native.csproj"), "-c", "Release", "-o", output, "--nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = root,
            };
            using var process = Process.Start(start)!;
            string log = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.Zero, log);

            string package = Directory.GetFiles(output, "NetBuf.Native.*.nupkg").Single();
            string symbols = Directory.GetFiles(output, "NetBuf.Native.*.snupkg").Single();
            using (ZipArchive zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.That(entries, Does.Contain("lib/net10.0/NetBuf.Native.dll"));
                Assert.That(entries, Does.Contain("lib/net10.0/NetBuf.Native.xml"), "XML documentation ships");
                Assert.That(entries, Does.Contain("README.md"));

                using Stream nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
                XElement metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
                string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
                Assert.That(Field("id"), Is.EqualTo("NetBuf.Native"));
                Assert.That(Field("version"), Does.Match(@"^\d+\.\d+\.\d+"));
                Assert.That(Field("license"), Is.EqualTo("MIT"));
                Assert.That(Field("readme"), Is.EqualTo("README.md"));
                Assert.That(Field("tags"), Does.Contain("packet").And.Contain("lock-free"));
                Assert.That(Field("description"), Does.Contain("native"));
            }

            using (ZipArchive zip = ZipFile.OpenRead(symbols))
            {
                Assert.That(zip.Entries.Select(e => e.FullName), Does.Contain("lib/net10.0/NetBuf.Native.pdb"));
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
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
}

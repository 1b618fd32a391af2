using SharpFuzz;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// The AFL++ entry point. <c>NetBuf.Native.Fuzz TARGET</c> runs under afl-fuzz (SharpFuzz's fork
/// server, input on standard input); <c>NetBuf.Native.Fuzz TARGET FILE...</c> replays files once and
/// prints the first escaping exception of each; <c>NetBuf.Native.Fuzz --seeds DIR</c> writes every
/// target's seed inputs under DIR/TARGET/.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "--seeds")
        {
            foreach (string target in FuzzTargets.All.Keys)
            {
                string folder = Directory.CreateDirectory(Path.Combine(args[1], target)).FullName;
                foreach ((string name, byte[] input) in FuzzTargets.Seeds(target))
                {
                    File.WriteAllBytes(Path.Combine(folder, name), input);
                }
            }

            return 0;
        }

        if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out Action<byte[]>? run))
        {
            Console.Error.WriteLine($"usage: NetBuf.Native.Fuzz ({string.Join('|', FuzzTargets.All.Keys)}) [FILE...] | --seeds DIR");
            return 2;
        }

        if (args.Length > 1)
        {
            int failed = 0;
            foreach (string file in args[1..])
            {
                try
                {
                    run(File.ReadAllBytes(file));
                }
#pragma warning disable CA1031 // Replay reports every exception: each one is a finding.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    failed++;
                    Console.WriteLine($"{file}: {e}");
                }
            }

            Console.WriteLine($"{args.Length - 1 - failed} passed, {failed} failed");
            return failed == 0 ? 0 : 1;
        }

        Fuzzer.Run(stream =>
        {
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            run(memory.ToArray());
        });
        return 0;
    }
}

#!/usr/bin/env bash
# Coverage-guided fuzzing of NetBuf.Native with SharpFuzz and AFL++ (outside CI; CI replays the
# committed corpus through the same checks: FuzzCorpusReplayTests).
#
#   NetBuf.Native.Tests/Fuzz/run.sh [SECONDS] [TARGET...]
#
# Fuzzes each target (all of them by default: see FuzzTargets.All) for SECONDS (default 120), one
# after the other on one core, starting from the committed corpus (or the built-in seeds where a
# target has none), prints execs, paths, crashes and hangs per target, and with MINIMIZE=1 replaces
# the committed corpus of each target by the afl-cmin minimization of what the run found.
# Work files go to $FUZZ_WORK (default ~/.cache/netbuf-fuzz); findings/TARGET/default/crashes holds
# any crash, replayable with: dotnet $FUZZ_WORK/bin/NetBuf.Native.Fuzz.dll TARGET FILE...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-120}"
shift || true
work="${FUZZ_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/netbuf-fuzz}"  # not /tmp: afl-cmin refuses to run there
bin="$work/bin"

# AFL++ from Debian, installed when missing (needs root and apt-get).
if ! command -v afl-fuzz >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq afl++ || { apt-get update -qq && apt-get install -y -qq afl++; }
  else
    echo "afl-fuzz is missing: install AFL++ (Debian: apt-get install afl++)" >&2
    exit 1
  fi
fi

# The harness, then the library instrumented in place by SharpFuzz (the local tool in .config/).
cd "$root"
dotnet tool restore >/dev/null
rm -rf "$bin"
dotnet build "$here/Harness/NetBuf.Native.Fuzz.csproj" -c Release -o "$bin" -nologo -v quiet
dotnet sharpfuzz "$bin/NetBuf.Native.dll"
harness=("$(command -v dotnet)" "$bin/NetBuf.Native.Fuzz.dll")
dotnet "$bin/NetBuf.Native.Fuzz.dll" --seeds "$work/seeds" >/dev/null

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(ethernet arp ipv4 icmp udp checksum responder loop pointers)
fi

# The .NET runtime is not an AFL-built binary, and this machine's CPU and core dump settings are not
# ours to change: tell AFL++ so. One core, no UI, inputs up to one page (the targets cut there anyway).
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
stat() { sed -n "s/^$1 *: *//p" "$2"; }
summary=()
for target in "${targets[@]}"; do
  input="$here/corpus/$target"
  if [[ ! -d "$input" ]] || [[ -z "$(ls -A "$input")" ]]; then
    input="$work/seeds/$target"
  fi
  out="$work/findings/$target"
  rm -rf "$out"; mkdir -p "$work/findings"
  echo "== $target: $seconds s from $input"
  afl-fuzz -i "$input" -o "$out" -t 5000 -m none -G 4096 -V "$seconds" -- "${harness[@]}" "$target" >"$work/$target.log" 2>&1 || {
    echo "afl-fuzz failed for $target:"; tail -n 30 "$work/$target.log"; exit 1; }
  stats="$out/default/fuzzer_stats"
  line="$target: $(stat execs_done "$stats") execs ($(stat execs_per_sec "$stats")/s), $(stat corpus_count "$stats") paths, $(stat saved_crashes "$stats") crashes, $(stat saved_hangs "$stats") hangs, coverage $(stat bitmap_cvg "$stats")"
  echo "$line"
  summary+=("$line")

  if [[ "${MINIMIZE:-0}" == 1 ]]; then
    rm -rf "$work/min/$target"
    afl-cmin -i "$out/default/queue" -o "$work/min/$target" -t 5000 -m none -- "${harness[@]}" "$target" >"$work/$target.cmin.log" 2>&1 \
      && { rm -rf "$here/corpus/$target"; mkdir -p "$here/corpus/$target"; i=0
           for f in "$work/min/$target"/*; do cp "$f" "$here/corpus/$target/$(printf '%s-%04d' "$target" "$i")"; i=$((i + 1)); done
           echo "corpus/$target: $i inputs, $(cat "$here/corpus/$target"/* | wc -c) bytes (afl-cmin)"; } \
      || { echo "afl-cmin failed for $target (see $work/$target.cmin.log); corpus left as it was"; }
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"

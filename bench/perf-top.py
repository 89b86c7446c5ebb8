#!/usr/bin/env python3
"""Top self-time frames of a benchmark process from a `perf record` of `swift package benchmark`.

perf 6.1 (Debian's) shows this toolchain's benchmark executables as raw addresses ("with build id
... not found, continuing without symbols"), so this maps them to symbols with `nm -n` and
demangles with `swift demangle`. The benchmark process is the one with the most samples in
`binary`; shares are of that process's samples.

    perf record -g -o /tmp/parse.data -- swift package benchmark --target HTTP1Benchmarks \\
        --filter "RequestParser.*" --no-progress
    python3 perf-top.py /tmp/parse.data .build/x86_64-unknown-linux-gnu/release/HTTP1Benchmarks 10
"""
import bisect
import collections
import re
import subprocess
import sys

data, binary = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 20

symbols = []
for line in subprocess.run(["nm", "-n", binary], capture_output=True, text=True).stdout.splitlines():
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
starts = [address for address, _ in symbols]

report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "pid,dso,sym", "--stdio", "-g", "none"],
                        capture_output=True, text=True).stdout
name = binary.rsplit("/", 1)[-1]
rows = []
for line in report.splitlines():
    m = re.match(r"\s*([\d.]+)%\s+(\d+):\S+\s+(\S+)\s+\[.\]\s+(.*?)\s*$", line)
    if m:
        rows.append((float(m.group(1)), int(m.group(2)), m.group(3), m.group(4)))

in_binary = collections.Counter()
for share, pid, dso, _ in rows:
    if dso == name:
        in_binary[pid] += share
pid = in_binary.most_common(1)[0][0]

frames = collections.Counter()
total = 0.0
for share, p, dso, symbol in rows:
    if p != pid:
        continue
    total += share
    if dso == name and symbol.startswith("0x"):
        i = bisect.bisect_right(starts, int(symbol, 16)) - 1
        symbol = symbols[i][1] if i >= 0 else symbol
    frames[(dso, symbol)] += share

mangled = [symbol for (_, symbol) in frames]
demangled = subprocess.run(["swift", "demangle", "--compact"], input="\n".join(mangled),
                           capture_output=True, text=True).stdout.splitlines()
readable = dict(zip(mangled, demangled))
print(f"pid {pid}: {total:.1f}% of all samples; shares below are of this process's samples")
for (dso, symbol), share in frames.most_common(limit):
    print(f"{100 * share / total:6.1f}%  {dso[:24]:24}  {readable.get(symbol, symbol)[:140]}")

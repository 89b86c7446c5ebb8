#!/bin/bash
# Microbenchmarks before and after, interleaved: the code at BEFORE (a git ref, default main)
# against the working tree, in alternating order round by round, each run a fresh
# `swift package benchmark`. Both sides use this tree's bench package (so a benchmark added here
# also measures the old code). Prints one tab-separated line per benchmark and run (round, side,
# benchmark, p50 ns, p50 mallocs, 1-minute load average at the start of the run), then per
# benchmark the medians, their ratio and the per-round ratios.
#
#   bench/compare.sh                                   # main vs working tree, 5 rounds
#   BEFORE=0cfd1af ROUNDS=6 bench/compare.sh
#   RUNS="HTTP1Benchmarks:RequestParser.* NetworkPolicyBenchmarks:ClientIP.*" bench/compare.sh
#   KEEP=/tmp/before bench/compare.sh                  # keep the old tree (and its build) there
#
# The old code is exported with `git archive` into a temporary directory, removed on exit unless
# KEEP names one (an existing KEEP directory is reused with its build; its bench package is
# refreshed from this tree). The package checkouts already in bench/.build are copied there, so
# nothing is fetched again.
set -euo pipefail

BEFORE=${BEFORE:-main}
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-"HTTP1Benchmarks:RequestParser.* NetworkPolicyBenchmarks:ClientIP.*"}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# The old code, with this tree's bench package and the package checkouts it already has.
export_before() {
    git -C "$root" archive "$BEFORE" | tar -x -C "$work"
    mkdir -p "$work/bench/.build"
    for f in "$root/Package.resolved" "$here/Package.resolved"; do
        if [[ -f $f ]]; then cp "$f" "${f/#$root/$work}"; fi
    done
    if [[ -d $here/.build/checkouts ]]; then
        cp -R "$here/.build/checkouts" "$here/.build/repositories" "$work/bench/.build/"
        sed "s#\"$root\"#\"$work\"#" "$here/.build/workspace-state.json" > "$work/bench/.build/workspace-state.json"
    fi
}
if [[ -n ${KEEP:-} ]]; then
    work=$KEEP
    [[ -d $work ]] || { mkdir -p "$work"; export_before; }
else
    work=$(mktemp -d /tmp/portcullis-compare.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    export_before
fi
rm -rf "$work/bench/Benchmarks"
cp -R "$here/Package.swift" "$here/Benchmarks" "$work/bench/"

results=$(mktemp)
run() { # round side dir target filter
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    (cd "$3" && swift package benchmark --target "$4" --filter "$5" --no-progress 2>&1) | awk -F'│' -v r="$1" -v s="$2" -v l="$load" '
        /^[A-Za-z]/ { name = $0 }
        /Time \(wall clock\)/ { gsub(/ /, "", $5); time[name] = $5 }
        /Malloc \(total\)/ { gsub(/ /, "", $5); mallocs[name] = $5 }
        END { for (n in time) printf "%s\t%s\t%s\t%s\t%s\t%s\n", r, s, n, time[n], mallocs[n], l }'
}
for round in $(seq 1 "$ROUNDS"); do
    sides="before after"
    (( round % 2 == 0 )) && sides="after before"
    for side in $sides; do
        dir=$here
        [[ $side == before ]] && dir=$work/bench
        for spec in $RUNS; do
            run "$round" "$side" "$dir" "${spec%%:*}" "${spec#*:}" | tee -a "$results"
        done
    done
done

python3 - "$results" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    round_, side, name, ns, _, _ = line.rstrip("\n").split("\t")
    runs[(name, side)][int(round_)] = int(ns)
for name in sorted({name for name, _ in runs}):
    before, after = runs[(name, "before")], runs[(name, "after")]
    ratios = [after[r] / before[r] for r in sorted(before) if r in after]
    b, a = statistics.median(before.values()), statistics.median(after.values())
    print(f"{name}: before {b:g} ns, after {a:g} ns, ratio {a / b:.3f} "
          f"(per round {' '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.3f})")
EOF
rm -f "$results"

#!/usr/bin/env bash
# Interleaved A/B of training-step times: runs bench/step.ts alternately in two
# checkouts, ROUNDS times each, then prints the per-configuration medians and B/A.
#   bash bench/ab.sh /path/to/checkout-A /path/to/checkout-B [ROUNDS] [-- step.ts args]
# Checkout A gets a copy of this bench/step.ts if it has none (it uses only the public API).
# Each side resolves the package name `tfjs-neural-modules` to its own src/node.ts (a
# tsconfig with that one path, for checkouts from before bench/ imported it by name).
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-5}; shift 3 || true; [ "${1:-}" = "--" ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
paths=$(mktemp -d)
for side in A B; do
  dir=$(cd "$([ $side = A ] && echo "$A" || echo "$B")" && pwd)
  printf '{"compilerOptions":{"paths":{"tfjs-neural-modules":["%s/src/node.ts"]}}}\n' "$dir" > "$paths/$side.json"
done
for dir in "$A" "$B"; do [ -f "$dir/bench/step.ts" ] || cp "$HERE/step.ts" "$dir/bench/step.ts"; done
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    dir=$([ $side = A ] && echo "$A" || echo "$B")
    line=$(cd "$dir" && TSX_TSCONFIG_PATH="$paths/$side.json" npx tsx bench/step.ts "$@" 2>/dev/null | tail -1)
    echo "$side $line" | tee -a "$out" >&2
  done
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const by = { A: {}, B: {} };
for (const l of lines) { const [side, json] = [l.slice(0, 1), l.slice(2)]; for (const [k, v] of Object.entries(JSON.parse(json))) (by[side][k] ??= []).push(v); }
const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log("| configuration | A median ms | B median ms | B/A |\n|---|---|---|---|");
for (const k of Object.keys(by.A)) { const a = med(by.A[k]), b = med(by.B[k] ?? [NaN]); console.log(`| ${k} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)} |`); }
' "$out"

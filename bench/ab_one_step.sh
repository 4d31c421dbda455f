#!/usr/bin/env bash
# Interleaved A/B of one training-step configuration: runs bench/one_step.ts alternately in
# two checkouts (the order flipped every round), ROUNDS times each, and prints each run's
# median step, then the medians of both sides and B/A.
#   bash bench/ab_one_step.sh /path/to/checkout-A /path/to/checkout-B [ROUNDS] [-- one_step.ts args]
# Checkout A gets a copy of this bench/one_step.ts (and classifier_step.ts, timing.ts) if it
# has none. Run it on Node 24 with PATH="$(dirname "$(node scripts/node24.mjs)"):$PATH".
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-8}; shift 3 || true; [ "${1:-}" = "--" ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
for dir in "$A" "$B"; do
  for f in one_step.ts classifier_step.ts timing.ts; do [ -f "$dir/bench/$f" ] || cp "$HERE/$f" "$dir/bench/$f"; done
done
out=$(mktemp)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="A B"; else order="B A"; fi
  for side in $order; do
    dir=$([ "$side" = A ] && echo "$A" || echo "$B")
    ms=$(cd "$dir" && npx tsx bench/one_step.ts "$@" 2>/dev/null | grep -o 'median [0-9.]*' | cut -d' ' -f2)
    echo "$side $ms" | tee -a "$out"
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (s) => { const a = rows.filter((r) => r[0] === s).map((r) => Number(r[1])).sort((x, y) => x - y); return a[Math.floor(a.length / 2)]; };
console.log(`A median ${med("A").toFixed(1)} ms, B median ${med("B").toFixed(1)} ms, B/A ${(med("B") / med("A")).toFixed(2)}`);
' "$out"
rm -f "$out"

/**
 * The percolation reference of bench/structure/variants.ts (`--percolation`): the largest
 * strongly connected component and the number of modules of ≥ 2 nodes in uniformly random
 * directed graphs on p nodes, by edge count, without training; the baseline a learned
 * graph's modules are read against (docs/results/structure/percolation.md).
 */
import { Random, stronglyConnectedComponents } from 'tfjs-neural-modules/internal';

/** The markdown table: 200 random digraphs on `P` nodes per edge count (seeded, deterministic). */
export function percolationTable(P: number): string {
  const lines: string[] = [];
  const rng = new Random(1);
  lines.push(`| kept edges (mean degree) | largest module | modules ≥ 2 | (200 random digraphs on ${P} nodes each) |\n|---|---|---|---|`);
  for (const m of [0.5, 1, 1.5, 2, 3, 4.95].map((degree) => Math.round(degree * P))) {
    let largest = 0;
    let cyclic = 0;
    for (let trial = 0; trial < 200; trial++) {
      const flat = new Set<number>();
      while (flat.size < m) {
        const j = Math.floor(rng.next() * P);
        const k = Math.floor(rng.next() * P);
        if (j !== k) flat.add(j * P + k);
      }
      const sorted = [...flat].sort((a, b) => a - b);
      const rowPtr = new Int32Array(P + 1);
      for (const e of sorted) rowPtr[Math.floor(e / P) + 1]++;
      for (let j = 0; j < P; j++) rowPtr[j + 1] += rowPtr[j];
      const sizes = stronglyConnectedComponents(
        P,
        rowPtr,
        Int32Array.from(sorted, (e) => e % P),
      ).components.map((c) => c.length);
      largest += Math.max(...sizes);
      cyclic += sizes.filter((z) => z >= 2).length;
    }
    lines.push(`| ${m} (${(m / P).toFixed(2)}) | ${(largest / 200).toFixed(1)} | ${(cyclic / 200).toFixed(2)} | |`);
  }
  return lines.join('\n');
}

/**
 * The kernel exports, each call split across a {@link KernelTeam} when it is large enough
 * to pay for the hand-off (about ten microseconds), as its catalog entry says
 * (src/kernels/catalog.ts, {@link Split}): output rows, columns or element ranges, disjoint,
 * each part computed by the same code in the same order, the cut points multiples of the
 * kernels' SIMD chunk widths, so every split gives the same bits as one thread.
 *
 * `together(calls)` records the export calls made inside `calls` and runs each whole, as
 * one chunk: consecutive calls of one export are the chunks of one team run. The blocked
 * kernel view gives it one call per column block (src/kernels/blocked.ts), so each thread
 * keeps working on the block it wrote last (in its own cache) instead of a slice of every array.
 *
 * Allocation: a call builds its argument list (the rest parameter) and nothing else; the
 * chunks' argument lists are kept per export and rewritten by every split call.
 */
import { EXPORT_SPECS, type ExportName, type ExportsDispatch, type SparseExports } from '../catalog.js';
import { paramLayout, type ExportSpec, type ParamLayout, type RowSink } from '../entry.js';
import { MIN_BLOCK_ELEMENTS } from '../blocked.js';
import { MAX_CHUNKS } from './protocol.js';
import type { KernelTeam } from './team.js';

/** Default work per chunk (elements touched, or nonzeros × columns for spmm): a call with less stays on the caller. */
export const DEFAULT_MIN_SPLIT_WORK = 16_384;
/** Chunks per thread when the work allows: small enough that a worker that wakes late still takes a share. */
const CHUNKS_PER_THREAD = 4;
/** Chunks per thread of a call delivered to a sink: finer, so that the copy of the last worker chunk is short. */
const SINK_CHUNKS_PER_THREAD = 8;

/** The split exports, plus {@link SparseKernels.together}. */
export type SplitExports = ExportsDispatch & { together(calls: () => void): void };

/** Bound i of `[0, n)` cut into `t` ranges whose inner bounds are multiples of `align`. */
function cut(n: number, t: number, align: number, i: number): number {
  return i === 0 ? 0 : i === t ? n : Math.min(n, Math.floor((n * i) / t / align) * align);
}

/** One export as the split sees it. */
interface Splitter {
  name: ExportName;
  spec: ExportSpec;
  at: ParamLayout;
  /** Positions of the parameters whose product is the work per row (rows splits). */
  work: number[];
  /** Position of the CSR row pointers a rows split balances by (−1: none). */
  balance: number;
  /** Runs one argument list on this thread. */
  local: (args: number[]) => unknown;
  /** The chunks' argument lists (rewritten by every split call). */
  chunks: number[][];
}

/**
 * `local`'s exports, split across `team` for instance `id` (the same modules attached
 * over the same shared `memory` in every worker).
 *
 * @example
 * const split = splitExports(local, team, team.attach(memory, modules), memory);
 * split.tanh(x, out, n); // split when n ≥ 2 × 16384
 */
export function splitExports(local: SparseExports, team: KernelTeam, id: number, memory: WebAssembly.Memory, minWork = DEFAULT_MIN_SPLIT_WORK): SplitExports {
  let ints = new Int32Array(memory.buffer);
  /** Row pointer k of the CSR structure at byte offset `ptr`, read from the shared memory. */
  const ptrAt = (ptr: number, k: number) => {
    if (ints.buffer !== memory.buffer) ints = new Int32Array(memory.buffer);
    return ints[(ptr >> 2) + k];
  };
  /** Chunks to cut `work` into, at least 1 (1: run on the caller). */
  const chunksFor = (work: number, perThread = CHUNKS_PER_THREAD) =>
    team.size === 1 ? 1 : Math.max(1, Math.min(team.size * perThread, MAX_CHUNKS, Math.floor(work / minWork)));

  const splitters = EXPORT_SPECS.map(([name, spec]): Splitter => {
    const fn = local[name] as unknown as (...args: number[]) => unknown;
    const at = paramLayout(spec);
    const work = spec.split.by === 'rows' ? spec.split.work.map((w) => at.at[w]) : [];
    const balance = spec.split.by === 'rows' && spec.split.balance !== undefined ? at.at[spec.split.balance] : -1;
    const chunks = Array.from({ length: MAX_CHUNKS }, () => new Array<number>(spec.params.length).fill(0));
    return { name, spec, at, work, balance, local: (args) => fn(...args), chunks };
  });

  /**
   * Writes the chunks of one call of `s` (`perThread` chunks per thread at most) into
   * `s.chunks`; returns how many (1: run it whole).
   */
  const cutCall = (s: Splitter, args: number[], perThread: number): number => {
    const { split } = s.spec;
    const { at } = s;
    if (split.by === 'caller') return 1;
    if (split.by === 'elements') {
      const n = args[at.len];
      const rows = at.lo >= 0 ? args[at.hi] - args[at.lo] : 1;
      const t = Math.min(chunksFor(n * rows, perThread), Math.ceil(n / split.align));
      if (t <= 1) return t;
      for (let i = 0; i < t; i++) {
        const c = s.chunks[i];
        const start = cut(n, t, split.align, i);
        for (let q = 0; q < args.length; q++) c[q] = args[q];
        for (const q of at.ptrs) c[q] = args[q] + 4 * start;
        c[at.len] = cut(n, t, split.align, i + 1) - start;
      }
      return t;
    }
    const lo = args[at.lo],
      rows = args[at.hi] - lo;
    let perRow = 1;
    for (const q of s.work) perRow *= args[q];
    // A sparse product whose output is smaller than two column blocks stays whole: its arrays
    // live in the caller's cache, and a worker that reads them from there costs more than it
    // saves (the same bound as columnLayout's blocks).
    if (s.balance >= 0 && rows * perRow < 2 * MIN_BLOCK_ELEMENTS) return 1;
    const nnz0 = s.balance >= 0 ? ptrAt(args[s.balance], lo) : 0;
    const nnz = s.balance >= 0 ? ptrAt(args[s.balance], lo + rows) - nnz0 : 0;
    const t = Math.min(chunksFor((s.balance >= 0 ? nnz : rows) * perRow, perThread), Math.ceil(rows / split.align));
    if (t <= 1) return t;
    let r0 = lo;
    for (let i = 0; i < t; i++) {
      const c = s.chunks[i];
      for (let q = 0; q < args.length; q++) c[q] = args[q];
      let r1 = lo + cut(rows, t, split.align, i + 1);
      if (s.balance >= 0 && i + 1 < t) {
        // A cut with about the same number of nonzeros on each side (binary search on ptr).
        const target = nnz0 + (nnz * (i + 1)) / t;
        let a = r0,
          b = lo + rows;
        while (a < b) {
          const mid = (a + b) >> 1;
          if (ptrAt(args[s.balance], mid) < target) a = mid + 1;
          else b = mid;
        }
        r1 = a;
      }
      c[at.lo] = r0;
      c[at.hi] = r1;
      r0 = r1;
    }
    return t;
  };

  /** Calls recorded by `together` (count > 0 only inside it): export index and arguments, reused. */
  let recording = false;
  let count = 0;
  const recorded: number[] = [];
  const recordedArgs: number[][] = [];
  const batch: number[][] = [];
  /** Runs the recorded calls: consecutive calls of one export as the chunks of one team run. */
  const flush = () => {
    if (!recording) return;
    const n = count;
    recording = false;
    count = 0;
    for (let i = 0; i < n;) {
      let j = i + 1;
      while (j < n && j - i < MAX_CHUNKS && recorded[j] === recorded[i]) j++;
      const s = splitters[recorded[i]];
      if (j - i === 1) s.local(recordedArgs[i]);
      else {
        for (let c = i; c < j; c++) batch[c - i] = recordedArgs[c];
        team.run(id, s.name, batch, s.local, undefined, j - i);
      }
      i = j;
    }
  };
  const call = (e: number, args: number[]): unknown => {
    const s = splitters[e];
    if (s.spec.split.by === 'caller') {
      flush();
      return s.local(args);
    }
    if (recording) {
      recorded[count] = e;
      recordedArgs[count++] = args;
      return;
    }
    const t = cutCall(s, args, CHUNKS_PER_THREAD);
    if (t <= 1) return s.local(args);
    team.run(id, s.name, s.chunks, s.local, undefined, t);
  };

  const exports: Record<string, unknown> = {};
  splitters.forEach((s, e) => (exports[s.name] = (...args: number[]) => call(e, args)));
  const byName = new Map(splitters.map((s) => [s.name, s]));
  return {
    ...(exports as SparseExports),
    deliver(name: ExportName, sink: RowSink, ...args: number[]) {
      flush();
      const s = byName.get(name)!;
      const t = cutCall(s, args, SINK_CHUNKS_PER_THREAD);
      if (t <= 1) return sink.rows(args[s.at.lo], args[s.at.hi]);
      team.run(
        id,
        s.name,
        s.chunks,
        (a) => sink.rows(a[s.at.lo], a[s.at.hi]),
        (c) => sink.take(s.chunks[c][s.at.lo], s.chunks[c][s.at.hi]),
        t,
      );
    },
    together(calls: () => void) {
      if (recording) return calls();
      recording = true;
      count = 0;
      try {
        calls();
      } catch (err) {
        recording = false;
        count = 0;
        throw err;
      }
      flush();
    },
  };
}

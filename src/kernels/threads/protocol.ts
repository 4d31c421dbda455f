/**
 * The command block a kernel team shares (one SharedArrayBuffer): the caller writes a
 * kernel call as up to {@link MAX_CHUNKS} chunks (argument lists), sets the chunk
 * claim word to the command's generation and bumps `SEQ`; every thread, the caller
 * included, then claims chunks (compareExchange on `CLAIM`) until none is left, and
 * counts each one it finishes in `FINISHED` (a worker also marks it in the `DONE` bit
 * mask, so the caller can pick up a worker's finished part while others still run). A worker that is slow to wake (or descheduled on a busy machine) just
 * claims fewer chunks: the caller never waits for a chunk nobody has started.
 *
 * Kernels are named by their index in {@link KERNEL_EXPORTS}; their arguments (byte
 * offsets, sizes, f32 coefficients) travel as float64, which holds every i32 and
 * every f32 exactly.
 */
import { EXPORT_SPECS, type ExportName } from '../catalog.js';

/** The exports of src/kernels/sparse.wat and gemm.wat a worker can run, by command index: every export of the kernel catalog, in its order. */
export const KERNEL_EXPORTS: readonly ExportName[] = EXPORT_SPECS.map(([name]) => name);

/** Int32 slots of the command block. */
export const SLOT = {
  /** Bumped by the caller to post a command. */
  SEQ: 0,
  /** Control commands: workers that acknowledged (each adds 1). */
  ACKS: 1,
  /** Which attached kernel instance (memory) the command is for. */
  INSTANCE: 2,
  /** Index into KERNEL_EXPORTS, or a control command below. */
  FN: 3,
  /** Number of arguments per chunk. */
  NARGS: 4,
  /** 1 + the index of a chunk that threw in a worker, else 0 (the caller re-runs it to report the error). */
  ERROR: 5,
  /** Number of instances attached so far, per the slowest worker (each stores after its attach). */
  ATTACHED: 6,
  /** Chunks in the current command. */
  NCHUNKS: 7,
  /**
   * `(generation << 12) | (chunks << 6) | next chunk` ({@link claimWord}): claimed with
   * compareExchange, so a claim can never land in a later command, and the chunk count is
   * read from the same word, never from NCHUNKS (which the caller rewrites for the next
   * command before it publishes that command's claim word).
   */
  CLAIM: 8,
  /** Chunks finished. */
  FINISHED: 9,
  /** Bit c set by a worker once it has finished (or thrown in) chunk c of the current command; the caller's own chunks are not marked. */
  DONE: 10,
  /** Number of instances detached so far, per the slowest worker (each adds 1 after it has dropped one). */
  DETACHED: 11,
  /** 1 once a worker's thread is ending while the team still runs (set by the worker on its way out), else 0. */
  LOST: 12,
  /** The exit code of that worker. */
  LOST_CODE: 13,
  /** Workers that have received the command block and entered their command loop (each adds 1). */
  READY: 14,
} as const;

/** Control commands (negative FN). */
export const CONTROL = {
  /** Leave the command loop and return to the event loop (to receive an attach message). */
  YIELD: -1,
  /** Leave the command loop for good. */
  STOP: -2,
} as const;

/** Byte offset of the float64 arguments in the block. */
export const ARGS_BYTE_OFFSET = 64;
/** Most parameters a kernel export takes (adamUpdate: 14). */
export const MAX_ARGS = 16;
/** Most chunks in one command (CLAIM holds the count and the next chunk in 6 bits each). */
export const MAX_CHUNKS = 32;
/** The generation of command `seq` in CLAIM (19 bits, so the word stays a positive int32). */
export const generation = (seq: number): number => seq & 0x7ffff;
/** The claim word that opens command `seq` with `chunks` chunks (0 for a control command). */
export const claimWord = (seq: number, chunks: number): number => (generation(seq) << 12) | (chunks << 6);
/**
 * The chunk a thread may claim with claim word `w` in the command of generation `gen`,
 * or -1 when none is left (or `w` belongs to another command). Written without closures:
 * the workers run its source text.
 */
export function claimable(w: number, gen: number): number {
  const c = w & 63;
  return w >>> 12 === gen && c < ((w >>> 6) & 63) ? c : -1;
}
/** Bytes of the command block. */
export const BLOCK_BYTES = ARGS_BYTE_OFFSET + 8 * MAX_ARGS * MAX_CHUNKS;
/**
 * How long a worker keeps polling for the next command before it sleeps in
 * Atomics.wait, in ms. Waking a sleeping thread takes 0.05–0.3 ms (about 0.28 ms
 * measured on this project's 2-core VM), longer than many kernel calls, so a worker
 * stays awake through a solve's stream of calls and sleeps in the gaps between solves.
 */
export const SPIN_MS = 2;
/** Polls between two clock reads while spinning. */
export const POLLS_PER_CLOCK = 256;

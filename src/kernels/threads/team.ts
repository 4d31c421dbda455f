/**
 * A team of kernel threads: the caller plus `size − 1` workers that run the
 * WebAssembly kernels on the caller's shared memory. The caller cuts one kernel call
 * into chunks and posts them; every thread, the caller included, claims chunks until
 * none is left; the caller then waits (Atomics) for the chunks still running. No
 * message passing, no copies, one shared memory (protocol.ts).
 *
 * Caveats: needs SharedArrayBuffer and shared WebAssembly memories (Node; browsers
 * only when `crossOriginIsolated`). The caller blocks in `Atomics.wait` where that is
 * allowed (Node, workers) and polls elsewhere (a browser's main thread).
 */
import { ConfigError } from '../../utils/errors.js';
import type { HostWorker } from '../../platform/host.js';
import { maybeNodeHost } from '../../platform/host.js';
import { ARGS_BYTE_OFFSET, BLOCK_BYTES, CONTROL, generation, KERNEL_EXPORTS, MAX_ARGS, MAX_CHUNKS, POLLS_PER_CLOCK, SLOT, SPIN_MS } from './protocol.js';
import { kernelWorkerSource } from './worker_source.js';

/** A kernel name a worker can run. */
export type KernelName = (typeof KERNEL_EXPORTS)[number];

/** How long the caller waits for a worker (to start, attach or finish a part) before it reports the worker as lost. */
const START_TIMEOUT_MS = 120_000;

interface Member {
  worker: HostWorker;
  error: unknown;
}

/** True where this thread may block in Atomics.wait (Node's main thread, any worker; not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when this runtime can share WebAssembly memory between threads. */
export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown; Blob?: unknown; URL?: { createObjectURL?: unknown } };
  if (maybeNodeHost() !== null) return true;
  return g.crossOriginIsolated === true && typeof g.Worker === 'function' && typeof g.Blob === 'function';
}

function startWorker(source: string): HostWorker {
  const host = maybeNodeHost();
  if (host !== null) return host.startWorker(source);
  const g = globalThis as unknown as {
    Worker: new (url: string) => { postMessage(m: unknown): void; onmessage: unknown; onerror: unknown; terminate(): void };
    Blob: new (parts: string[], o: { type: string }) => object;
    URL: { createObjectURL(b: object): string; revokeObjectURL(u: string): void };
  };
  const url = g.URL.createObjectURL(new g.Blob([source], { type: 'text/javascript' }));
  const w = new g.Worker(url);
  g.URL.revokeObjectURL(url);
  return {
    postMessage: (m) => w.postMessage(m),
    onMessage: (fn) => void (w.onmessage = (e: { data: unknown }) => fn(e.data)),
    onError: (fn) => void (w.onerror = fn),
    terminate: () => w.terminate(),
  };
}

/**
 * The caller and its kernel workers. Create with {@link KernelTeam.start}.
 *
 * @example
 * const team = await KernelTeam.start(2);
 * const id = team.attach(memory, [sparseModule, gemmModule]);
 * team.run(id, 'tanh', [[x0, o0, n0], [x1, o1, n1]], (a) => local.tanh(...a));
 * team.stop();
 */
export class KernelTeam {
  private readonly block = canBlock();
  private readonly I: Int32Array;
  private readonly F: Float64Array;
  private seq = 0;
  private attached = 0;
  private stopped = false;

  private constructor(
    private readonly members: Member[],
    ctrl: SharedArrayBuffer,
  ) {
    this.I = new Int32Array(ctrl);
    this.F = new Float64Array(ctrl, ARGS_BYTE_OFFSET);
  }

  /** Threads in the team, the caller included (1 once stopped). */
  get size(): number {
    return this.stopped ? 1 : this.members.length + 1;
  }

  /**
   * Starts `size − 1` workers and waits until each is ready.
   * Throws a ConfigError where threads are unavailable (see {@link threadsSupported}).
   */
  static async start(size: number): Promise<KernelTeam> {
    if (!threadsSupported()) {
      throw new ConfigError(
        'kernel threads need SharedArrayBuffer and Workers: Node, or a browser page that is crossOriginIsolated ' +
          "(served with 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'); use 1 thread here.",
      );
    }
    const source = kernelWorkerSource();
    const ctrl = new SharedArrayBuffer(BLOCK_BYTES);
    const members = await Promise.all(
      Array.from({ length: size - 1 }, async () => {
        const worker = startWorker(source);
        const member: Member = { worker, error: null };
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`kernel threads: a worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
          worker.onMessage(() => {
            clearTimeout(timer);
            resolve();
          });
          worker.onError((err) => {
            member.error = err;
            clearTimeout(timer);
            reject(new Error(`kernel threads: a worker failed (${String(err)})`));
          });
          worker.postMessage({ type: 'init', ctrl });
        });
        return member;
      }),
    );
    return new KernelTeam(members, ctrl);
  }

  /**
   * Instantiates `modules` (the shared-memory kernel modules) over `memory` in every
   * worker; returns the instance id that {@link run} takes. Blocks until all are done.
   */
  attach(memory: WebAssembly.Memory, modules: WebAssembly.Module[]): number {
    if (this.stopped) throw new Error('kernel threads: attach on a stopped team');
    const id = this.attached++;
    for (const m of this.members) m.worker.postMessage({ type: 'attach', id, memory, modules });
    this.control(CONTROL.YIELD);
    this.waitFor(SLOT.ATTACHED, this.members.length * (id + 1), 'attach');
    return id;
  }

  /**
   * Runs one kernel call cut into `chunks` (argument lists, at most 32): the
   * workers and the caller (through `local`) claim and run chunks until none is left,
   * then the caller waits for the ones still running. Which thread runs a chunk does
   * not change its result. A chunk that throws in a worker is re-run on the caller, so
   * its error is reported where it happened.
   *
   * `collect(c)`, when given, runs on the caller once for every chunk c a worker
   * finished, as soon as the caller sees it (between its own chunks, then while it
   * waits): for moving a worker's part somewhere only the caller can write while the
   * other parts still run. Chunks the caller ran itself are not collected (their
   * `local` can write straight to the destination).
   */
  run(instance: number, fn: KernelName, chunks: number[][], local: (args: number[]) => void, collect?: (chunk: number) => void): void {
    const n = chunks.length;
    if (n > MAX_CHUNKS) throw new Error(`kernel threads: ${n} chunks, at most ${MAX_CHUNKS}`);
    if (this.stopped || n === 1) {
      for (const c of chunks) local(c);
      return;
    }
    const { I, F } = this;
    const nargs = chunks[0].length;
    if (nargs > MAX_ARGS) throw new Error(`kernel threads: ${nargs} arguments, at most ${MAX_ARGS}`);
    for (let c = 0; c < n; c++) for (let i = 0; i < nargs; i++) F[c * MAX_ARGS + i] = chunks[c][i];
    I[SLOT.INSTANCE] = instance;
    I[SLOT.FN] = KERNEL_EXPORTS.indexOf(fn);
    I[SLOT.NARGS] = nargs;
    I[SLOT.NCHUNKS] = n;
    I[SLOT.ERROR] = 0;
    Atomics.store(I, SLOT.DONE, 0);
    Atomics.store(I, SLOT.FINISHED, 0);
    const seq = (this.seq = (this.seq + 1) | 0);
    const gen = generation(seq);
    Atomics.store(I, SLOT.CLAIM, gen << 8);
    Atomics.store(I, SLOT.SEQ, seq);
    Atomics.notify(I, SLOT.SEQ);
    let mine = 0;
    /** Chunks already collected (bit c). */
    let taken = 0;
    // Only workers set DONE bits, each before counting its chunk in FINISHED, so once
    // FINISHED reaches n every bit is visible. A chunk that threw is not collected (it is re-run below).
    const collectDone =
      collect === undefined
        ? undefined
        : () => {
            let fresh = Atomics.load(I, SLOT.DONE) & ~taken;
            while (fresh !== 0) {
              const c = 31 - Math.clz32(fresh & -fresh);
              fresh &= fresh - 1;
              taken |= 1 << c;
              if (I[SLOT.ERROR] !== c + 1) collect(c);
            }
          };
    try {
      for (;;) {
        const w = Atomics.load(I, SLOT.CLAIM);
        const c = w & 255;
        if (c >= n) break;
        if (Atomics.compareExchange(I, SLOT.CLAIM, w, w + 1) !== w) continue;
        mine++;
        try {
          local(chunks[c]);
        } finally {
          Atomics.add(I, SLOT.FINISHED, 1);
        }
        collectDone?.();
      }
    } catch (err) {
      // Never leave a chunk running against memory the caller is about to reuse.
      this.waitFor(SLOT.FINISHED, n, fn);
      throw err;
    }
    try {
      this.waitFor(SLOT.FINISHED, n, fn, collectDone);
    } catch (err) {
      // A collect threw: still wait for the chunks, then report it.
      if (collectDone !== undefined) this.waitFor(SLOT.FINISHED, n, fn);
      throw err;
    }
    collectDone?.();
    this.chunksByCaller += mine;
    this.chunksTotal += n;
    const bad = I[SLOT.ERROR];
    if (bad !== 0) local(chunks[bad - 1]);
  }

  /** Chunks run so far, in all and by the caller (the rest ran on workers): for tests and benchmarks. */
  chunksTotal = 0;
  chunksByCaller = 0;

  /** Stops and terminates the workers; the team then has size 1 (callers run every kernel themselves). */
  stop(): void {
    if (this.stopped) return;
    try {
      this.control(CONTROL.STOP);
    } finally {
      for (const m of this.members) m.worker.terminate();
      this.stopped = true;
    }
  }

  /** Posts a control command and waits until every worker has acknowledged it. */
  private control(fn: number): void {
    const { I } = this;
    Atomics.store(I, SLOT.ACKS, 0);
    I[SLOT.FN] = fn;
    I[SLOT.NCHUNKS] = 0;
    const seq = (this.seq = (this.seq + 1) | 0);
    Atomics.store(I, SLOT.CLAIM, generation(seq) << 8);
    Atomics.store(I, SLOT.SEQ, seq);
    Atomics.notify(I, SLOT.SEQ);
    this.waitFor(SLOT.ACKS, this.members.length, 'control');
  }

  /**
   * Waits until `slot` reaches `value`: polls for {@link SPIN_MS}, then sleeps in 1 ms
   * waits where allowed (polls elsewhere). `onPoll` runs at every poll.
   */
  private waitFor(slot: number, value: number, what: string, onPoll?: () => void): void {
    const I = this.I;
    let polls = 0;
    let t0 = -1;
    for (let v = Atomics.load(I, slot); v < value; v = Atomics.load(I, slot)) {
      onPoll?.();
      if (++polls < POLLS_PER_CLOCK) continue;
      polls = 0;
      const now = performance.now();
      if (t0 < 0) t0 = now;
      if (now - t0 < SPIN_MS) continue;
      if (this.block) Atomics.wait(I, slot, v, 1);
      const lost = this.members.find((m) => m.error !== null);
      if (lost !== undefined || now - t0 > START_TIMEOUT_MS) {
        throw new Error(
          `kernel threads: a worker did not finish '${what}' (${lost !== undefined ? String(lost.error) : `no answer in ${START_TIMEOUT_MS} ms`})`,
        );
      }
    }
  }
}

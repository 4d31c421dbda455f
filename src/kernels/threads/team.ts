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
 *
 * A worker that ends while the team runs (an error, `process.exit` in it, killed) is
 * reported at once: the call that is waiting for it, or the next call, throws an Error
 * that says what happened, and the team stops itself (size 1: every later kernel call
 * runs on the caller, with the same bits). `nm.backend.setThreads(n)` starts a new one.
 */
import { ConfigError } from '../../utils/errors.js';
import type { ExportName } from '../catalog.js';
import { canBlock, threadsSupported } from './runtime.js';
import {
  ARGS_BYTE_OFFSET,
  claimable,
  claimWord,
  CONTROL,
  generation,
  KERNEL_EXPORTS,
  MAX_ARGS,
  MAX_CHUNKS,
  POLLS_PER_CLOCK,
  SLOT,
  SPIN_MS,
} from './protocol.js';
import { kernelWorkerSource } from './worker_source.js';
import { type Member, spawnMembers, START_TIMEOUT_MS, type TeamStartOptions } from './team_start.js';

export { threadsSupported } from './runtime.js';
export type { TeamStartOptions } from './team_start.js';

/** The name of an export a worker can run (see {@link KERNEL_EXPORTS}). */
export type KernelName = ExportName;

/** How long stopping the team waits for the workers to acknowledge before it terminates them anyway. */
const STOP_TIMEOUT_MS = 2_000;

/** A team whose workers are starting ({@link KernelTeam.begin}). */
export interface TeamStart {
  /** The team once every worker is ready, else null; never waits. */
  poll(): KernelTeam | null;
  /** Resolves to the team once every worker has said it is ready; rejects if one fails first. */
  ready: Promise<KernelTeam>;
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
  /** Instances attached so far (the next id). */
  private attached = 0;
  /** Instances detached so far. */
  private detached = 0;
  /** The ids of the instances attached and not detached. */
  private readonly live = new Set<number>();
  private stopped = false;
  /** What ended a worker while the team ran, once it is known; null while all are well. */
  private lostWhat: string | null = null;

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

  /** Memories attached to the workers and not detached (0 once stopped): each holds the workers' reference to one memory. */
  get attachedCount(): number {
    return this.live.size;
  }

  /** What ended a worker while the team ran (the team then stopped itself), or null. */
  get lost(): string | null {
    return this.lostWhat;
  }

  /**
   * Starts `size − 1` workers and waits until each is ready.
   * Throws a ConfigError where threads are unavailable (see {@link threadsSupported}).
   *
   * @param source internal: the workers' script (tests add hooks to {@link kernelWorkerSource}'s).
   * @param options see {@link KernelTeam.begin}.
   */
  static async start(size: number, source = kernelWorkerSource(), options: TeamStartOptions = {}): Promise<KernelTeam> {
    return KernelTeam.begin(size, source, options).ready;
  }

  /**
   * Starts `size − 1` workers without waiting for them. The result's `poll()` returns the
   * team once every worker is ready, read from a counter the workers bump in the shared
   * block (so it works inside a synchronous loop that never yields to the event loop);
   * `ready` resolves to the same team, or rejects as {@link start} does (the workers are
   * then terminated, unless `poll()` had already handed the team out).
   * Throws a ConfigError where threads are unavailable (see {@link threadsSupported}).
   *
   * @example
   * const starting = KernelTeam.begin(2, undefined, { holdsProcess: false });
   * const team = starting.poll(); // null until both threads are ready
   */
  static begin(size: number, source = kernelWorkerSource(), options: TeamStartOptions = {}): TeamStart {
    if (!threadsSupported()) {
      throw new ConfigError(
        'kernel threads need SharedArrayBuffer and Workers: Node, or a browser page that is crossOriginIsolated ' +
          "(served with 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'); use 1 thread here.",
      );
    }
    const { members, ctrl, ready } = spawnMembers(size, source, options);
    const readyCount = new Int32Array(ctrl);
    let team: KernelTeam | null = null;
    let failed = false;
    const made = () => (team ??= new KernelTeam(members, ctrl));
    return {
      ready: ready.then(made, (err: unknown) => {
        failed = true;
        // A team already handed out by poll() reports its own lost workers.
        if (team === null) for (const m of members) m.worker.terminate();
        throw err;
      }),
      poll: () => team ?? (!failed && Atomics.load(readyCount, SLOT.READY) === size - 1 ? made() : null),
    };
  }

  /**
   * Instantiates `modules` (the shared-memory kernel modules) over `memory` in every
   * worker; returns the instance id that {@link run} takes. Blocks until all are done.
   */
  attach(memory: WebAssembly.Memory, modules: WebAssembly.Module[]): number {
    this.checkLost('attach');
    if (this.stopped) throw new Error('kernel threads: attach on a stopped team');
    const id = this.attached++;
    for (const m of this.members) m.worker.postMessage({ type: 'attach', id, memory, modules });
    this.control(CONTROL.YIELD, 'attach');
    this.waitFor(SLOT.ATTACHED, this.members.length * (id + 1), 'attach');
    this.live.add(id);
    return id;
  }

  /**
   * Makes every worker drop instance `id` (its reference to that memory, which can then
   * be freed); blocks until all have. A no-op for an id not attached, or once stopped
   * (the workers are gone). {@link run} rejects the id afterwards.
   *
   * With a worker already lost it only forgets the id: detaching runs in dispose()
   * paths, so the loss is left for the next run or attach to report (stopping the team
   * then lets go of every memory).
   */
  detach(id: number): void {
    if (this.stopped || !this.live.has(id)) return;
    this.live.delete(id);
    if (this.lostReason() !== null) return;
    this.detached++;
    for (const m of this.members) m.worker.postMessage({ type: 'detach', id });
    this.control(CONTROL.YIELD, 'detach');
    this.waitFor(SLOT.DETACHED, this.members.length * this.detached, 'detach');
  }

  /**
   * Runs one kernel call cut into the first `count` of `chunks` (argument lists, at most
   * 32; default: all of them): the workers and the caller (through `local`) claim and run chunks until none is left,
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
  run(
    instance: number,
    fn: KernelName,
    chunks: readonly number[][],
    local: (args: number[]) => unknown,
    collect?: (chunk: number) => void,
    count = chunks.length,
  ): void {
    const n = count;
    if (n > MAX_CHUNKS || n > chunks.length) throw new Error(`kernel threads: ${n} chunks, at most ${Math.min(MAX_CHUNKS, chunks.length)}`);
    this.checkLost(fn);
    if (this.stopped || n === 1) {
      for (let c = 0; c < n; c++) local(chunks[c]);
      return;
    }
    if (!this.live.has(instance)) throw new Error(`kernel threads: instance ${instance} is not attached (detached, or never attached to this team)`);
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
    Atomics.store(I, SLOT.CLAIM, claimWord(seq, n));
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
        const c = claimable(w, gen);
        if (c < 0) break;
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
      // Never leave a chunk running against memory the caller is about to reuse
      // (a lost worker's chunk never finishes: then waitFor throws that instead).
      this.waitFor(SLOT.FINISHED, n, fn);
      throw err;
    }
    try {
      this.waitFor(SLOT.FINISHED, n, fn, collectDone);
    } catch (err) {
      // A collect threw: still wait for the chunks, then report it.
      if (collectDone !== undefined && !this.stopped) this.waitFor(SLOT.FINISHED, n, fn);
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
      // A lost worker would never acknowledge the stop. The workers are terminated right
      // after, so a worker that does not answer within STOP_TIMEOUT_MS is not waited for.
      if (this.lostReason() === null) this.control(CONTROL.STOP, 'stop', STOP_TIMEOUT_MS);
    } finally {
      this.abandon();
    }
  }

  /** Terminates every worker without waiting for them; the team has size 1 from now on. */
  private abandon(): void {
    for (const m of this.members) m.worker.terminate();
    this.stopped = true;
    this.live.clear();
  }

  /** What ended a worker, or null: the note a worker leaves on its way out (seen at once), else its 'exit' or 'error' event (seen between calls). */
  private lostReason(): string | null {
    if (this.lostWhat !== null) return this.lostWhat;
    if (Atomics.load(this.I, SLOT.LOST) !== 0) return `a kernel worker exited with code ${this.I[SLOT.LOST_CODE]}`;
    const m = this.members.find((x) => x.error !== null || x.exitCode !== null);
    if (m === undefined) return null;
    return m.error !== null ? `a kernel worker failed (${String(m.error)})` : `a kernel worker exited with code ${m.exitCode}`;
  }

  /**
   * Throws if a worker has ended: stops the team first (so every later call runs on
   * the caller) and says so. `what` is the call that noticed.
   */
  private checkLost(what: string): void {
    if (this.stopped) return;
    const reason = this.lostReason();
    if (reason === null) return;
    this.lostWhat = reason;
    this.abandon();
    throw new Error(
      `kernel threads: ${reason} while the team was running (noticed in '${what}'). The workers are stopped and the kernels run ` +
        'on the calling thread from now on (nm.backend.threads() is 1); the call that noticed did not complete. ' +
        'Call nm.backend.setThreads(n) to start new workers.',
    );
  }

  /**
   * Posts a control command and waits until every worker has acknowledged it, or, with
   * `giveUpMs`, at most that long (then returns without the acknowledgements).
   */
  private control(fn: number, what: string, giveUpMs?: number): void {
    this.checkLost(what);
    const { I } = this;
    Atomics.store(I, SLOT.ACKS, 0);
    I[SLOT.FN] = fn;
    I[SLOT.NCHUNKS] = 0;
    const seq = (this.seq = (this.seq + 1) | 0);
    Atomics.store(I, SLOT.CLAIM, claimWord(seq, 0));
    Atomics.store(I, SLOT.SEQ, seq);
    Atomics.notify(I, SLOT.SEQ);
    this.waitFor(SLOT.ACKS, this.members.length, what, undefined, giveUpMs);
  }

  /**
   * Waits until `slot` reaches `value`: polls for {@link SPIN_MS}, then sleeps in 1 ms
   * waits where allowed (polls elsewhere). `onPoll` runs at every poll.
   */
  private waitFor(slot: number, value: number, what: string, onPoll?: () => void, giveUpMs?: number): void {
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
      this.checkLost(what);
      if (giveUpMs !== undefined && now - t0 > giveUpMs) return;
      if (now - t0 > START_TIMEOUT_MS) {
        throw new Error(`kernel threads: a worker did not finish '${what}' (no answer in ${START_TIMEOUT_MS} ms)`);
      }
    }
  }
}

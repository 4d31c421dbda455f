/**
 * Starting the workers of a kernel team (team.ts): spawns `size − 1` workers on the
 * kernel worker script, hands each the team's shared control block, and resolves once
 * every one has said it is ready. A worker that fails, exits or stays silent for
 * {@link START_TIMEOUT_MS} rejects the start with what happened; the caller decides
 * whether to terminate the others (team.ts does, unless the team was already handed out).
 */
import type { HostWorker } from '../../platform/host.js';
import { startWorker } from './runtime.js';
import { BLOCK_BYTES } from './protocol.js';

/** How long the caller waits for a worker (to start, attach or finish a part) before it reports the worker as lost. */
export const START_TIMEOUT_MS = 120_000;

/** One worker of a team and what its events reported. */
export interface Member {
  worker: HostWorker;
  /** What the worker's 'error' event reported, or null. */
  error: unknown;
  /** The worker's exit code once its thread has ended, or null. */
  exitCode: number | null;
}

/** Options of {@link KernelTeam.begin} and {@link KernelTeam.start}. */
export interface TeamStartOptions {
  /**
   * false: the start's time limit does not keep a Node process alive (a start nobody
   * awaits, src/backend/default_threads.ts). Default true: an awaited start reports a
   * worker that never gets ready.
   */
  holdsProcess?: boolean;
}

/** The workers being started, their shared control block, and the promise of their 'ready'. */
export interface Spawned {
  members: Member[];
  ctrl: SharedArrayBuffer;
  /** Resolves when every worker is ready; rejects when one fails, exits or times out first. */
  ready: Promise<void>;
}

/** Starts `size − 1` workers on `source` and sends each the new control block. */
export function spawnMembers(size: number, source: string, options: TeamStartOptions): Spawned {
  const ctrl = new SharedArrayBuffer(BLOCK_BYTES);
  const members: Member[] = [];
  const ready = Array.from({ length: size - 1 }, () => {
    const worker = startWorker(source);
    const member: Member = { worker, error: null, exitCode: null };
    members.push(member);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kernel threads: a worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      if (options.holdsProcess === false) (timer as { unref?: () => void }).unref?.();
      worker.onMessage(() => {
        clearTimeout(timer);
        resolve();
      });
      worker.onError((err) => {
        member.error = err;
        clearTimeout(timer);
        reject(new Error(`kernel threads: a worker failed (${String(err)})`));
      });
      // Recorded for the team's checks; before 'ready' it fails the start (a no-op after).
      worker.onExit((code) => {
        member.exitCode = code;
        clearTimeout(timer);
        reject(new Error(`kernel threads: a worker exited with code ${code} before it was ready`));
      });
      worker.postMessage({ type: 'init', ctrl });
    });
  });
  return { members, ctrl, ready: Promise.all(ready).then(() => undefined) };
}

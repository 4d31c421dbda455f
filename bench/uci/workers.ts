/**
 * `--workers N`: trains the pending trials in N child processes (one per core), so
 * both cores of the machine work (tfjs-wasm runs one thread in Node). Each child
 * (bench/uci/worker.ts) sets up the backend, then trains one trial at a time as this
 * process hands them out in plan order; results come back as messages and only this
 * process writes the store, so the store stays append-only and resumable. A trial's
 * result does not depend on which child trains it (seeded per trial key).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from './config.js';
import type { PlannedTrial, TrialRecord } from './store.js';

/** Messages from a child. */
export type WorkerMessage = { type: 'ready' } | { type: 'done'; key: string; record: TrialRecord } | { type: 'failed'; key: string; error: string };
/** Messages to a child. */
export type ParentMessage = { type: 'init'; cfg: BenchConfig } | { type: 'trial'; trial: PlannedTrial } | { type: 'exit' };

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');
/** bench/tsconfig.json, whose `paths` map the package name to the sources (src/). */
const BENCH_TSCONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', 'tsconfig.json');

export interface WorkerEvents {
  started(t: PlannedTrial): void;
  finished(t: PlannedTrial, record: TrialRecord): void;
}

/** Runs `pending` on `cfg.workers` child processes; resolves when all are trained, rejects on the first failure (finished trials are kept). */
export function runInWorkers(cfg: BenchConfig, pending: PlannedTrial[], events: WorkerEvents): Promise<void> {
  const queue = pending.slice();
  const byKey = new Map(pending.map((t) => [t.key, t]));
  const count = Math.min(cfg.workers, pending.length);
  let outstanding = pending.length;
  return new Promise<void>((resolve, reject) => {
    const children: ChildProcess[] = [];
    const released = new Set<ChildProcess>();
    let failed = false;
    const release = (c: ChildProcess) => {
      released.add(c);
      if (c.connected) c.send({ type: 'exit' } satisfies ParentMessage);
    };
    const stopAll = () => children.forEach(release);
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      stopAll();
      reject(e);
    };
    const next = (child: ChildProcess) => {
      const t = queue.shift();
      if (t == null || failed) {
        release(child);
        return;
      }
      events.started(t);
      child.send({ type: 'trial', trial: t } satisfies ParentMessage);
    };
    for (let i = 0; i < count; i++) {
      // TSX_TSCONFIG_PATH: the child resolves `tfjs-neural-modules` to the sources whatever the working directory.
      const env = { ...process.env, TSX_TSCONFIG_PATH: process.env.TSX_TSCONFIG_PATH ?? BENCH_TSCONFIG };
      const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') next(child);
        else if (m.type === 'done') {
          events.finished(byKey.get(m.key)!, m.record);
          if (--outstanding === 0) {
            stopAll();
            resolve();
          } else next(child);
        } else fail(new Error(`--workers: trial ${m.key} failed in worker ${i + 1}: ${m.error}`));
      });
      child.on('exit', (code, signal) => {
        if (!released.has(child) && !failed)
          fail(
            new Error(`--workers: worker ${i + 1} exited (code ${code}, signal ${signal}) with ${outstanding} trials left; rerun the same command to resume.`),
          );
      });
      child.on('error', (e) => fail(e));
      child.send({ type: 'init', cfg } satisfies ParentMessage);
    }
  });
}

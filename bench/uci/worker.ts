/**
 * A child process of `--workers` (bench/uci/workers.ts): sets up the backend named in
 * the configuration, then trains the trials it is sent, one at a time, and sends each
 * record back. Not a command of its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from './backend.js';
import { TrialTrainer } from './runner.js';
import type { ParentMessage, WorkerMessage } from './workers.js';

// Under the test runner (its environment reaches this child), keep tfjs' Node banner out of the test output, as test/setup.ts does.
if (process.env.VITEST) tf.enableProdMode();

let trainer: TrialTrainer | null = null;
const send = (m: WorkerMessage) => process.send!(m);

process.on('message', (m: ParentMessage) => {
  void handle(m);
});
// The parent is gone (stopped or crashed): stop too, the unfinished trial is redone on resume.
process.on('disconnect', () => process.exit(0));

async function handle(m: ParentMessage): Promise<void> {
  if (m.type === 'exit') {
    process.disconnect();
    return;
  }
  if (m.type === 'init') {
    await setBackend(m.cfg.backend);
    trainer = new TrialTrainer(m.cfg);
    send({ type: 'ready' });
    return;
  }
  try {
    const record = await trainer!.run(m.trial);
    send({ type: 'done', key: m.trial.key, record });
  } catch (e) {
    send({ type: 'failed', key: m.trial.key, error: (e as Error).stack ?? String(e) });
  }
}

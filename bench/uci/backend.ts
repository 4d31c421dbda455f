/** The tfjs backend of a benchmark process (the CLI and each `--workers` child). */
import { BenchConfigError, type BenchConfig } from './config.js';

export async function setBackend(name: BenchConfig['backend']): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(name))) throw new BenchConfigError(`--backend: could not initialise the '${name}' backend.`);
  await tf.ready();
}

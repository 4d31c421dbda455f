/** The one backend switch of the tests. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** The backends every tensor test runs on. */
export const BACKENDS = ['cpu', 'wasm'] as const;

/** Switches to `name` and waits until it is ready; throws when it did not become the active backend. */
export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`backend ${name} failed to initialize`);
  await tf.ready();
}

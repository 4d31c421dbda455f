/**
 * Which kind of model call is running (fit, evaluate, predict, or a direct layer
 * call), so that a layer can warn once per `fit` call and once per other kind of
 * call between fits. tfjs gives a layer no hook for the start of `fit`, so the
 * model methods are wrapped once, transparently (same arguments, same result,
 * same errors), the first time a Neural Module layer is created.
 *
 * tfjs-layers' assumption (test/tfjs_internals.test.ts checks it): every `fit`,
 * `evaluate` and `predict` of a model goes through these methods of
 * `LayersModel.prototype` (a `Sequential` inherits them).
 */
import { LayersModel } from '@tensorflow/tfjs-layers';

export type CallPhase = 'fit' | 'evaluate' | 'predict' | 'direct';

let phase: CallPhase = 'direct';
let fitGeneration = 0;
let installed = false;

/** The running kind of call and the number of `fit`/`fitDataset` calls started so far. */
export function currentPhase(): { phase: CallPhase; fitGeneration: number } {
  return { phase, fitGeneration };
}

type Method = (...args: unknown[]) => unknown;

function wrap(name: string, kind: CallPhase): void {
  const proto = LayersModel.prototype as unknown as Record<string, Method>;
  const original = proto[name];
  if (typeof original !== 'function') return;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    const before = phase;
    if (kind === 'fit' && before !== 'fit') fitGeneration++;
    phase = kind;
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (e) {
      phase = before;
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(() => {
        phase = before;
      });
    }
    phase = before;
    return result;
  };
}

/** Installs the wrappers once (idempotent). */
export function trackCallPhases(): void {
  if (installed) return;
  installed = true;
  wrap('fit', 'fit');
  wrap('fitDataset', 'fit');
  wrap('evaluate', 'evaluate');
  wrap('evaluateDataset', 'evaluate');
  wrap('predict', 'predict');
  wrap('predictOnBatch', 'predict');
}

/**
 * The base of every `nm.callbacks.*` callback: an object that works in any position
 * of a `model.fit` / `model.fitDataset` `callbacks` array.
 *
 * Why this is needed. tfjs decides how to treat the WHOLE array from its first element
 * (`standardizeCallbacks` in tfjs-layers' base_callbacks):
 * - first element a `tf.Callback` / `BaseCallback` instance: every element is used as
 *   is, so each must have `setParams`, `setModel` and the `on*` hooks;
 * - otherwise every element is treated as a plain `{ onEpochEnd, … }` config and
 *   wrapped in a `tf.CustomCallback`, which copies the `on*` functions and calls them
 *   with `this` = the wrapper; the wrapper never learns the model (`setModel` is a
 *   no-op on it).
 *
 * So these callbacks are deliberately NOT `tf.Callback` instances (a `tf.Callback`
 * first in the array makes tfjs reject the plain objects after it: "callback.setParams
 * is not a function"). They carry `setParams` / `setModel` (used when a tfjs callback
 * comes first) and their `on*` hooks as own functions that work when copied out by a
 * `CustomCallback` wrapper. In that case the model is found through the `params`
 * object: tfjs hands the same `params` object to every callback of one fit, including
 * a tiny callback this module registers with `tf.registerCallbackConstructor` (tfjs'
 * extension point: it is instantiated for every fit and always receives `setModel`),
 * which remembers params → model.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { Callback, registerCallbackConstructor, type LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError } from '../utils/errors.js';

/** tfjs' fit parameters type (`epochs`, `steps`, …). */
type Params = Callback['params'];
type Logs = Record<string, unknown>;

/** params object of a running fit → the model being trained. */
const modelByParams = new WeakMap<object, LayersModel>();

/** Registered once per tfjs copy; created by tfjs for every fit / fitDataset. */
class ModelTracker extends Callback {
  override setModel(model: LayersModel): void {
    super.setModel(model);
    if (this.params != null) modelByParams.set(this.params, model);
  }
}

let trackerRegistered = false;

function registerTracker(): void {
  if (trackerRegistered) return;
  trackerRegistered = true;
  // Verbosity level 0: tfjs creates it for every fit, whatever `verbose` is.
  registerCallbackConstructor(0, ModelTracker);
}

const HOOKS = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;
type Hook = (typeof HOOKS)[number];

/** Base class of the `nm.callbacks.*` callbacks (see the file comment). */
export abstract class NMCallback {
  /** Set by tfjs (unused here; present so tfjs can treat this as one of its callbacks). */
  validationData: Tensor | Tensor[] = null as unknown as Tensor;
  /** The fit parameters (`epochs`, `steps`, …) of the current fit. */
  params: Params = {};
  /** The model being trained (null before the first fit; typed as tfjs' `Callback.model`). */
  model: LayersModel = null as unknown as LayersModel;
  /** Name used in error messages. */
  protected abstract readonly where: string;

  constructor() {
    registerTracker();
    const self = this;
    for (const hook of HOOKS) {
      const impl = (this as unknown as Record<Hook, (...args: unknown[]) => Promise<void>>)[hook];
      // A plain function (not an arrow, not bound): when a CustomCallback wrapper calls
      // it, `this` is the wrapper, whose `params` identify the fit.
      const own = function (this: unknown, ...args: unknown[]): Promise<void> {
        self.adopt(this);
        return impl.apply(self, args);
      };
      Object.defineProperty(this, hook, { value: own, writable: true, configurable: true, enumerable: true });
    }
  }

  /** Called by tfjs when a tfjs callback is first in the array. */
  setParams(params: Params): void {
    this.params = params;
  }

  /** Called by tfjs when a tfjs callback is first in the array. */
  setModel(model: object): void {
    this.model = model as LayersModel;
  }

  /** Takes params and model from a CustomCallback wrapper that called one of our hooks. */
  private adopt(ctx: unknown): void {
    if (ctx == null || ctx === this || typeof ctx !== 'object') return;
    const params = (ctx as { params?: unknown }).params;
    if (params == null || typeof params !== 'object') return;
    this.params = params as Params;
    const model = modelByParams.get(params);
    if (model != null) this.model = model;
  }

  /** The model being trained; a clear error when tfjs did not let us find it. */
  protected requireModel(): LayersModel {
    if (this.model == null) {
      throw new ConfigError(
        `${this.where}: could not find the model being trained. Pass this callback in the 'callbacks' of model.fit / model.fitDataset ` +
          `(with a tfjs-layers copy that supports tf.registerCallbackConstructor), or call setModel(model) before using it by hand.`,
      );
    }
    return this.model;
  }

  async onTrainBegin(_logs?: Logs): Promise<void> {}
  async onTrainEnd(_logs?: Logs): Promise<void> {}
  async onEpochBegin(_epoch: number, _logs?: Logs): Promise<void> {}
  async onEpochEnd(_epoch: number, _logs?: Logs): Promise<void> {}
  async onBatchBegin(_batch: number, _logs?: Logs): Promise<void> {}
  async onBatchEnd(_batch: number, _logs?: Logs): Promise<void> {}
}

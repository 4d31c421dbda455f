/**
 * The base of every `nm.callbacks.*` callback: a `tf.Callback` that works in any position
 * of a `model.fit` / `model.fitDataset` `callbacks` array.
 *
 * Why this is needed. tfjs decides how to treat the WHOLE array from its first element
 * (`standardizeCallbacks` in tfjs-layers' base_callbacks):
 * - first element a `tf.Callback` / `BaseCallback` instance: every element is used as
 *   is, so each must have `setParams`, `setModel` and the `on*` hooks; a plain object
 *   after it makes tfjs throw "callback.setParams is not a function";
 * - otherwise every element is treated as a plain `{ onEpochEnd, … }` config and
 *   wrapped in a `tf.CustomCallback`, which copies the `on*` functions and calls them
 *   with `this` = the wrapper; the wrapper never learns the model (`setModel` is a
 *   no-op on it).
 *
 * What we do:
 * 1. Our hooks are own functions that work when a `CustomCallback` wrapper copies them
 *    out (case 2): they run on our instance, and find the model through the `params`
 *    object, which tfjs hands to every callback of one fit, including a tiny callback
 *    registered with `tf.registerCallbackConstructor` (tfjs' extension point: created
 *    for every fit, and always given `setModel`) that remembers params → model.
 * 2. In case 1, plain objects in a list that holds one of our callbacks are wrapped in
 *    `tf.CustomCallback`, exactly as tfjs wraps them in case 2. This is a small shim on
 *    `CallbackList.prototype.setParams` (tfjs_internals/callback_list.ts, installed once,
 *    when the first of our callbacks is created); it leaves every list without one of our
 *    callbacks untouched.
 *
 * Not fixable from here (tfjs wraps them before any callback runs): a tfjs callback
 * object (`tf.callbacks.earlyStopping`, `new tf.CustomCallback`) after a plain object.
 */
import { Callback, registerCallbackConstructor, type LayersModel } from '@tensorflow/tfjs-layers';
import type { NeuralModuleLayer } from '../layers/neural_module/layer.js';
import { CALLBACK_BRAND, wrapPlainCallbacksBesideOurs } from '../tfjs_internals/callback_list.js';
import { ConfigError } from '../utils/errors.js';
import { neuralModuleLayers } from './find_layers.js';

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

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  // Verbosity level 0: tfjs creates it for every fit, whatever `verbose` is.
  registerCallbackConstructor(0, ModelTracker);
  wrapPlainCallbacksBesideOurs();
}

const HOOKS = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;
type Hook = (typeof HOOKS)[number];

/** Base class of the `nm.callbacks.*` callbacks (see the file comment). */
export abstract class NMCallback extends Callback {
  /** Name used in error messages. */
  protected abstract readonly where: string;
  /** Whether this callback has already warned that the model has no NeuralModule layer. */
  private warnedNoModules = false;

  constructor() {
    super();
    install();
    Object.defineProperty(this, CALLBACK_BRAND, { value: true });
    // The hooks below are plain functions whose own `this` is tfjs' wrapper, so the callback is captured by name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
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

  /** Takes params and model from a CustomCallback wrapper that called one of our hooks. */
  private adopt(ctx: unknown): void {
    if (ctx == null || ctx === this || typeof ctx !== 'object') return;
    const params = (ctx as { params?: unknown }).params;
    if (params == null || typeof params !== 'object') return;
    this.params = params as Params;
    const model = modelByParams.get(params);
    if (model != null) this.model = model;
  }

  /** The model being trained; a clear error when it is unknown. */
  protected requireModel(): LayersModel {
    if (this.model == null) {
      throw new ConfigError(
        `${this.where}: could not find the model being trained. Pass this callback in the 'callbacks' of model.fit / model.fitDataset, ` +
          `or call setModel(model) before using it by hand.`,
      );
    }
    return this.model;
  }

  /**
   * The NeuralModule layers of the model being trained, through nested models and
   * wrappers (find_layers.ts). When there are none, warns once per callback instance:
   * a structure callback on such a model would otherwise do nothing without a word.
   */
  protected neuralModules(): NeuralModuleLayer[] {
    const found = neuralModuleLayers(this.requireModel());
    if (found.length === 0 && !this.warnedNoModules) {
      this.warnedNoModules = true;
      console.warn(
        `${this.where}: the model has no NeuralModule layer (looked in nested models and inside wrappers such as tf.layers.timeDistributed), ` +
          `so this callback does nothing. Add an nm.layers.neuralModule layer, or remove this callback.`,
      );
    }
    return found;
  }

  override async onTrainBegin(_logs?: Logs): Promise<void> {}
  override async onTrainEnd(_logs?: Logs): Promise<void> {}
  override async onEpochBegin(_epoch: number, _logs?: Logs): Promise<void> {}
  override async onEpochEnd(_epoch: number, _logs?: Logs): Promise<void> {}
  override async onBatchBegin(_batch: number, _logs?: Logs): Promise<void> {}
  override async onBatchEnd(_batch: number, _logs?: Logs): Promise<void> {}
}

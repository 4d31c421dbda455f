/**
 * The patch of tfjs-layers' `CallbackList.prototype.setParams` that lets a plain
 * `{ onEpochEnd, … }` object follow one of the package's callbacks in a `model.fit`
 * `callbacks` array (callbacks/nm_callback.ts explains why tfjs needs it).
 *
 * tfjs-layers' assumptions (test/tfjs_internals.test.ts checks them): `CallbackList`
 * keeps its callbacks in the array field `callbacks`, and `setParams(params)` is called
 * once per fit, before any hook, on the list built from the user's array.
 */
import { CallbackList, CustomCallback, type Callback, type CustomCallbackArgs } from '@tensorflow/tfjs-layers';

/** Marks a callback as the package's; shared by every copy of this package (a registered symbol). */
export const CALLBACK_BRAND = Symbol.for('tfjs-neural-modules.callback');
/** Marks `CallbackList.prototype` as patched, by any copy of this package. */
const PATCHED = Symbol.for('tfjs-neural-modules.callbackListShim');

type Params = Callback['params'];
type PatchableList = Record<PropertyKey, unknown> & { setParams(this: { callbacks: unknown[] }, p: Params): void };

/** True for objects tfjs can use as they are (BaseCallback instances and look-alikes). */
function isCallbackObject(c: unknown): boolean {
  const o = c as { setParams?: unknown; setModel?: unknown } | null;
  return o != null && typeof o === 'object' && typeof o.setParams === 'function' && typeof o.setModel === 'function';
}

/**
 * Wraps `CallbackList.prototype.setParams` once per tfjs copy (idempotent): in a list
 * holding a callback marked with {@link CALLBACK_BRAND}, every element that is not a
 * callback object is wrapped in a `tf.CustomCallback`, exactly as tfjs wraps a list
 * whose first element is a plain object. Every other list is left untouched.
 */
export function wrapPlainCallbacksBesideOurs(): void {
  const proto = CallbackList.prototype as unknown as PatchableList;
  if (proto[PATCHED]) return;
  const original = proto.setParams;
  proto.setParams = function (this: { callbacks: unknown[] }, params: Params): void {
    if (Array.isArray(this.callbacks) && this.callbacks.some((c) => c != null && (c as Record<PropertyKey, unknown>)[CALLBACK_BRAND] === true)) {
      this.callbacks = this.callbacks.map((c) => (isCallbackObject(c) ? c : new CustomCallback(c as CustomCallbackArgs)));
    }
    original.call(this, params);
  };
  proto[PATCHED] = true;
}

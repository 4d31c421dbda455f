/** Validation of an `activation` argument, shared by the Neural Module and URN layers. */
import { checkOneOf, fail } from '../utils/errors.js';

/** tfjs-layers activations that are not pointwise, so no node activation can be them. */
export const NOT_POINTWISE = ['softmax', 'logSoftmax'] as const;

/**
 * Checks that `value` is one of `allowed`; softmax and logSoftmax get their own
 * message (they normalize over a whole row, so they cannot be a node's activation).
 */
export function checkActivation<T extends string>(where: string, value: unknown, allowed: readonly T[]): T {
  if ((NOT_POINTWISE as readonly unknown[]).includes(value)) {
    fail(
      where,
      'activation',
      value,
      `a pointwise activation, one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
      `'${value as string}' is not pointwise (each output depends on the whole row); put it in a layer after this one, e.g. tf.layers.dense({ units, activation: '${value as string}' }) or tf.layers.activation({ activation: '${value as string}' }).`,
    );
  }
  return checkOneOf(where, 'activation', value, allowed);
}

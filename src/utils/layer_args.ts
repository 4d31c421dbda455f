/**
 * What the argument check of every layer of the package starts with: the arguments are
 * an object, and every key is one of the layer's own or one tfjs-layers passes to any
 * layer.
 */
import { checkKeys, fail } from './errors.js';

/**
 * The keys a layer's arguments may carry besides its own: those of tfjs-layers'
 * `LayerArgs`, plus 'customObjects', which tfjs-layers' deserializer adds when a model
 * is loaded.
 */
export const LAYER_ARG_KEYS: readonly string[] = [
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'name',
  'trainable',
  'weights',
  'inputDType',
  'customObjects',
];

/**
 * Throws a ConfigError (from `where`) when `args` is not an object (`example` says what
 * one looks like) or has a key that is neither in `ownKeys` nor in {@link LAYER_ARG_KEYS}.
 *
 * @example
 * checkLayerArgs('urn', args, URN_KEYS, 'an object with at least { neurons, outputUnits }');
 */
export function checkLayerArgs(where: string, args: unknown, ownKeys: readonly string[], example: string): void {
  if (args == null || typeof args !== 'object') fail(where, 'args', args, example);
  checkKeys(where, args, [...ownKeys, ...LAYER_ARG_KEYS]);
}

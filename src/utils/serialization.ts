/**
 * Helpers to serialize nested tfjs objects (initializers, regularizers) in the
 * Keras `{ className, config }` form and to resolve them back through the tfjs
 * class registry, the way tfjs-layers does internally (its helpers are not exported).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, show } from './errors.js';

export interface SerializedObject {
  className: string;
  config: tf.serialization.ConfigDict;
}

/** `{ className, config }` of a registered serializable, or null. */
export function serializeObject(obj: tf.serialization.Serializable | null | undefined): SerializedObject | null {
  if (obj == null) return null;
  return { className: obj.getClassName(), config: obj.getConfig() };
}

/**
 * Resolves an identifier, a `{ className, config }` object or an instance to an
 * instance of a registered tfjs class. String identifiers use tfjs' camelCase
 * names (`'glorotUniform'`, `'l1l2'`) or class names (`'GlorotUniform'`).
 */
export function deserializeObject<T extends tf.serialization.Serializable>(
  where: string,
  arg: string,
  value: unknown,
  isInstance: (v: unknown) => v is T,
): T | null {
  if (value == null) return null;
  if (isInstance(value)) return value;
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  let className: string;
  let config: tf.serialization.ConfigDict = {};
  if (typeof value === 'string') {
    className = value;
  } else if (typeof value === 'object' && typeof (value as SerializedObject).className === 'string') {
    className = (value as SerializedObject).className;
    config = ((value as SerializedObject).config ?? {}) as tf.serialization.ConfigDict;
  } else {
    throw new ConfigError(`${where}: '${arg}' must be an instance, a registered class name or { className, config }; received ${show(value)}.`);
  }
  const candidates = [className, className.charAt(0).toUpperCase() + className.slice(1)];
  const lower = className.toLowerCase();
  for (const key of Object.keys(map)) if (key.toLowerCase() === lower) candidates.push(key);
  for (const name of candidates) {
    const entry = map[name];
    if (entry) {
      const [cls, fromConfig] = entry;
      const obj = fromConfig(cls, config) as unknown;
      if (!isInstance(obj)) {
        throw new ConfigError(`${where}: '${arg}' resolved '${className}' to a ${name}, which is not of the expected kind.`);
      }
      return obj;
    }
  }
  throw new ConfigError(`${where}: '${arg}' names an unknown class ${show(className)}. Pass an instance, or import the module that registers it.`);
}

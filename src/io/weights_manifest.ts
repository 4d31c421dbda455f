/**
 * Checks of a `model.json` body and of its `weightsManifest`: structure, and the
 * number of bytes each manifest group needs, so a truncated or foreign shard is
 * reported before tfjs decodes garbage from it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { show } from '../utils/errors.js';

/** Bytes per element of each stored dtype (after quantization, when any). */
const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Bytes a weight group occupies on disk, or null when it cannot be known
 * without decoding (string tensors have a per-element length prefix).
 */
export function groupByteLength(specs: readonly tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of specs) {
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const bytes = BYTES_PER_ELEMENT[stored];
    if (bytes === undefined) return null;
    const size = spec.shape.reduce((a, b) => a * b, 1);
    total += size * bytes;
  }
  return total;
}

/**
 * Validates the parsed body of a `model.json` and returns it typed. Returns a
 * description of the first problem instead when it is malformed.
 */
export function checkModelJson(body: unknown): { json: tf.io.ModelJSON } | { problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problem: `its top level must be a JSON object; found ${Array.isArray(body) ? 'an array' : show(body)}` };
  }
  const json = body as Record<string, unknown>;
  if (json.modelTopology == null && json.weightsManifest == null) {
    return { problem: "it has neither 'modelTopology' nor 'weightsManifest', so it is not a tfjs model.json" };
  }
  const manifest = json.weightsManifest;
  if (manifest != null) {
    if (!Array.isArray(manifest)) {
      return { problem: `'weightsManifest' must be an array of {paths, weights} groups; found ${show(manifest)}` };
    }
    for (let g = 0; g < manifest.length; g++) {
      const problem = checkGroup(manifest[g], g);
      if (problem) return { problem };
    }
  }
  return { json: json as unknown as tf.io.ModelJSON };
}

function checkGroup(group: unknown, g: number): string | null {
  const where = `weightsManifest[${g}]`;
  if (typeof group !== 'object' || group === null) return `${where} must be an object {paths, weights}; found ${show(group)}`;
  const { paths, weights } = group as { paths?: unknown; weights?: unknown };
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p.length > 0)) {
    return `${where}.paths must be an array of file names; found ${show(paths)}`;
  }
  if (!Array.isArray(weights)) return `${where}.weights must be an array of weight specs; found ${show(weights)}`;
  for (let w = 0; w < weights.length; w++) {
    const spec = weights[w] as Partial<tf.io.WeightsManifestEntry> | null;
    const ok =
      spec != null &&
      typeof spec.name === 'string' &&
      typeof spec.dtype === 'string' &&
      Array.isArray(spec.shape) &&
      spec.shape.every((d) => Number.isInteger(d) && d >= 0);
    if (!ok) return `${where}.weights[${w}] must be {name, shape, dtype}; found ${show(spec)}`;
  }
  return null;
}

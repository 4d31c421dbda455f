/**
 * The labels a CFF network trains and evaluates on: `yOneHot` must hold one-hot rows,
 * because the network embeds exactly one class per row (docs/guide/cff.md). An all-zero row,
 * a row with several ones or with other values has no such class (taking its argmax
 * would silently train on class 0 or on the first of several), so it is an error.
 */
import { ConfigError } from '../utils/errors.js';

/** Values shown of a rejected row (a row of many classes is cut). */
const SHOWN = 12;

/** A row as the user wrote it: float32 values to 7 significant digits (0.9, not 0.8999999761581421). */
function renderRow(values: ArrayLike<number>): string {
  const head = Array.from(values)
    .slice(0, SHOWN)
    .map((v) => String(Number.isFinite(v) ? Number(v.toPrecision(7)) : v));
  return `[${head.join(', ')}${values.length > SHOWN ? `, … (${values.length} values)` : ''}]`;
}

/**
 * The class of each row of `y` (row-major values of shape `[rows, classes]`): the column
 * of its single 1. Throws a ConfigError naming `where`, `arg`, the first bad row and its
 * values when a row is not one-hot (exactly one 1, the other entries 0).
 */
export function oneHotLabels(where: string, arg: string, y: ArrayLike<number>, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let ones = 0;
    let other = false;
    for (let k = 0; k < classes; k++) {
      const v = y[i * classes + k];
      if (v === 1) {
        ones++;
        out[i] = k;
      } else if (v !== 0) {
        other = true;
      }
    }
    if (other || ones !== 1) {
      const why = other ? 'it holds values other than 0 and 1' : ones === 0 ? 'it has no 1 (all zero)' : `it has ${ones} ones`;
      const row = Array.from({ length: classes }, (_, k) => y[i * classes + k]);
      throw new ConfigError(
        `${where}: '${arg}' must hold one-hot rows (exactly one 1, the other entries 0); row ${i} is ${renderRow(row)}: ${why}. ` +
          `Encode class indices with tf.oneHot(labels, ${classes}).`,
      );
    }
  }
  return out;
}

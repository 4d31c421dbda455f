/**
 * The save journal of `nm.io.fileSystem`: what an interrupted save of ours left on
 * disk, described precisely enough that a later load or save recovers from it only
 * when the current files are exactly what that save left, and never when another
 * writer (tfjs-node's `file://`, a copy, a later save) replaced them since.
 *
 * A journal `model.json.journal-<token>` is written (and flushed) before a save
 * touches `weights.bin`. It names the generation (the save's token) and, for both
 * sides of the swap, the size, CRC-32 and modification time of `model.json` and
 * `weights.bin`:
 *  - `before`: the files the save found (the model that stays current until the commit);
 *  - `after`: the files the save puts in place.
 */
import type { FsLike, FsStat } from './fs_adapter.js';
import { crc32 } from '../utils/crc32.js';

/** Identity of one file's content: byte count, CRC-32, and modification time when known. */
export interface FileFacts {
  size: number;
  crc32: number;
  /** Modification time of the file (ms); a rewrite by any tool changes it. */
  mtimeMs: number | null;
}

/** The body of `model.json.journal-<token>`. */
export interface SaveJournal {
  format: 'tfjs-neural-modules/save-journal';
  version: 1;
  /** The token of the save this journal belongs to (the `<token>` of its file names). */
  generation: string;
  before: { model: FileFacts | null; weights: FileFacts | null };
  after: { model: FileFacts; weights: FileFacts };
}

const FORMAT = 'tfjs-neural-modules/save-journal';

/** The facts of a file whose bytes and metadata were read. */
export function factsOf(bytes: Uint8Array, info: FsStat | null): FileFacts {
  return { size: bytes.byteLength, crc32: crc32(bytes), mtimeMs: info?.mtimeMs ?? null };
}

/** Whether `actual` is the file `expected` describes (modification time compared only when both know it). */
export function sameFile(actual: FileFacts | null, expected: FileFacts | null, compareTime = true): boolean {
  if (actual === null || expected === null) return false;
  if (actual.size !== expected.size || actual.crc32 !== expected.crc32) return false;
  if (!compareTime) return true;
  return actual.mtimeMs !== null && expected.mtimeMs !== null && actual.mtimeMs === expected.mtimeMs;
}

/** Serializes a journal. */
export function encodeJournal(journal: SaveJournal): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(journal));
}

function isFacts(v: unknown): v is FileFacts {
  const f = v as FileFacts;
  return typeof f === 'object' && f !== null && Number.isInteger(f.size) && Number.isInteger(f.crc32) && (f.mtimeMs === null || typeof f.mtimeMs === 'number');
}

/**
 * Reads the journal `file` of the save `token`. Returns null when it is missing,
 * unreadable, malformed or names another generation: such a journal describes
 * nothing that can be recovered.
 */
export async function readJournal(fs: FsLike, file: string, token: string): Promise<SaveJournal | null> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return null; // gone (that save finished) or unreadable: nothing to recover from
  }
  let body: SaveJournal;
  try {
    body = JSON.parse(new TextDecoder('utf-8').decode(bytes)) as SaveJournal;
  } catch {
    return null;
  }
  const ok =
    typeof body === 'object' &&
    body !== null &&
    body.format === FORMAT &&
    body.version === 1 &&
    body.generation === token &&
    typeof body.before === 'object' &&
    body.before !== null &&
    (body.before.model === null || isFacts(body.before.model)) &&
    (body.before.weights === null || isFacts(body.before.weights)) &&
    typeof body.after === 'object' &&
    body.after !== null &&
    isFacts(body.after.model) &&
    isFacts(body.after.weights);
  return ok ? body : null;
}

/** A new journal for the save `token`. */
export function newJournal(token: string, before: SaveJournal['before'], after: SaveJournal['after']): SaveJournal {
  return { format: FORMAT, version: 1, generation: token, before, after };
}

/**
 * Whether the current files are exactly what the interrupted save of `journal`
 * left after replacing `weights.bin` and before committing `model.json`:
 * `model.json` is still the one the save found, `weights.bin` is the one it wrote,
 * and the kept previous weights are the ones it found. Only then do the previous
 * weights belong with the current `model.json`.
 */
export function isInterruptedSwap(journal: SaveJournal, current: { model: FileFacts | null; weights: FileFacts | null; prev: FileFacts | null }): boolean {
  return (
    journal.before.weights !== null &&
    sameFile(current.model, journal.before.model) &&
    sameFile(current.weights, journal.after.weights) &&
    sameFile(current.prev, journal.before.weights, false)
  );
}

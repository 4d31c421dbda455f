/**
 * A terminal progress display for `model.fit`: an in-place bar with the epoch,
 * batch, ETA and the latest logs when stdout is a TTY; one line per epoch otherwise
 * (CI logs). Works with any model; module statistics written by the partition
 * callback (keys `nm_*`) are shown too when that callback runs before this one.
 *
 * @example
 * await model.fit(x, y, { epochs: 30, callbacks: [nm.callbacks.modulePartition(), nm.callbacks.progress({ label: 'NM' })] });
 */
import { checkKeys, fail } from '../utils/errors.js';
import { NMCallback } from './nm_callback.js';

/** Arguments of {@link progress}. */
export interface ProgressArgs {
  /** Prefix of every line. Default: `''`. */
  label?: string;
  /** Where to write. Default: `process.stdout` in Node, `console.log` lines elsewhere. */
  write?: (text: string) => void;
  /** Draw an in-place bar (needs a TTY). Default: `process.stdout.isTTY`. */
  inPlace?: boolean;
}

type Logs = Record<string, unknown>;

/** A log value as a number: plain numbers, or scalar tensors (tfjs passes both). */
const num = (v: unknown): number | null => {
  if (typeof v === 'number') return v;
  const t = v as { dataSync?: () => ArrayLike<number>; size?: number } | null;
  return t && typeof t.dataSync === 'function' && t.size === 1 ? t.dataSync()[0] : null;
};

const fmt = (logs: Logs | undefined) =>
  Object.entries(logs ?? {})
    .map(([k, v]) => [k, num(v)] as const)
    .filter((e): e is readonly [string, number] => e[1] !== null)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(' · ');

const time = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`);

/** The progress callback (see {@link progress}). */
export class ProgressCallback extends NMCallback {
  protected readonly where = 'progress';
  /** The label (without the separating space). */
  readonly label: string;
  /** Where the text goes. */
  readonly write: (text: string) => void;
  /** Whether an in-place bar is drawn. */
  readonly inPlace: boolean;
  private start = 0;
  private epochStart = 0;
  private epoch = 0;

  constructor(args: ProgressArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') fail('progress', 'args', args, 'an object { label?, write?, inPlace? }');
    checkKeys('progress', args, ['label', 'write', 'inPlace']);
    const out = typeof process !== 'undefined' ? process.stdout : undefined;
    this.label = args.label ?? '';
    this.write = args.write ?? (out ? (t: string) => out.write(t) : (t: string) => console.log(t.trimEnd()));
    this.inPlace = args.inPlace ?? Boolean(out?.isTTY);
  }

  /** The resolved arguments: `new ProgressCallback(cb.getConfig())` is equivalent. */
  getConfig(): Required<ProgressArgs> {
    return { label: this.label, write: this.write, inPlace: this.inPlace };
  }

  private prefix(): string {
    return this.label ? `${this.label} ` : '';
  }

  private total(key: 'epochs' | 'steps'): number {
    const v = (this.params as Record<string, unknown> | undefined)?.[key];
    return typeof v === 'number' ? v : 0;
  }

  override async onTrainBegin(): Promise<void> {
    this.start = Date.now();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
    this.epochStart = Date.now();
  }

  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (!this.inPlace) return;
    const steps = this.total('steps');
    const epochs = this.total('epochs');
    const done = this.epoch * steps + batch + 1;
    const all = epochs * steps;
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = all > 0 ? (elapsed / done) * (all - done) : 0;
    const width = 24;
    const filled = steps > 0 ? Math.round((width * (batch + 1)) / steps) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(Math.max(0, width - filled))}]`;
    this.write(`\r${this.prefix()}epoch ${this.epoch + 1}/${epochs} ${bar} ETA ${time(eta)} · ${fmt(logs)}\x1b[K`);
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const epochs = this.total('epochs');
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = epochs > 0 ? (elapsed / (epoch + 1)) * (epochs - epoch - 1) : 0;
    const secs = (Date.now() - this.epochStart) / 1000;
    this.write(
      `${this.inPlace ? '\r' : ''}${this.prefix()}epoch ${epoch + 1}/${epochs} (${secs.toFixed(1)}s, ETA ${time(eta)}) · ${fmt(logs)}${this.inPlace ? '\x1b[K' : ''}\n`,
    );
  }
}

/** Creates a {@link ProgressCallback}. */
export function progress(args: ProgressArgs = {}): ProgressCallback {
  return new ProgressCallback(args);
}

/**
 * The provenance of a trial (every trial records the commit, the package version and
 * the backend, so every figure can name them), read once per process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './config.js';
import type { Provenance } from './store.js';

let cached: Omit<Provenance, 'backend' | 'tfjsVersion'> | null = null;

function git(args: string[], cwd = PACKAGE_ROOT): string | null {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * Whether the code of the checkout at `root` differs from its commit: src/ and bench/, but
 * not bench/results/, where the benchmarks write their trials (a run would otherwise mark
 * its own later trials dirty). False outside a git checkout.
 */
export function codeDirty(root: string = PACKAGE_ROOT): boolean {
  return (git(['status', '--porcelain', '--', 'src', 'bench', ':(exclude)bench/results'], root) ?? '') !== '';
}

/** The package's commit (`+dirty` when src/ or bench/ other than bench/results/ differ from it), version and Node version. */
export function packageProvenance(): Omit<Provenance, 'backend' | 'tfjsVersion'> {
  if (cached) return cached;
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = head != null && codeDirty();
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  cached = { commit: head == null ? 'unknown' : `${head}${dirty ? '+dirty' : ''}`, dirty, packageVersion: pkg.version, node: process.version };
  return cached;
}

/** The full provenance with the running tfjs version and backend. */
export async function trialProvenance(): Promise<Provenance> {
  const tf = await import('@tensorflow/tfjs');
  return { ...packageProvenance(), tfjsVersion: tf.version.tfjs, backend: tf.getBackend() };
}

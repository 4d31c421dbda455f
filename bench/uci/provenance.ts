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

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The package's commit (`+dirty` when src/ or bench/ differ from it), version and Node version. */
export function packageProvenance(): Omit<Provenance, 'backend' | 'tfjsVersion'> {
  if (cached) return cached;
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = head != null && (git(['status', '--porcelain', '--', 'src', 'bench']) ?? '') !== '';
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  cached = { commit: head == null ? 'unknown' : `${head}${dirty ? '+dirty' : ''}`, packageVersion: pkg.version, node: process.version };
  return cached;
}

/** The full provenance with the running tfjs version and backend. */
export async function trialProvenance(): Promise<Provenance> {
  const tf = await import('@tensorflow/tfjs');
  return { ...packageProvenance(), tfjsVersion: tf.version.tfjs, backend: tf.getBackend() };
}

/**
 * `npm run demo` as a user runs it: a real child process on the embedded digits data
 * (short: 2 epochs) that must exit by itself, print its three-row table, keep exactly K
 * edges in both NM layers, and write the structure pictures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_LIMIT_MS, exitOf } from './helpers/exit_of.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('npm run demo', () => {
  const out = mkdtempSync(join(tmpdir(), 'nm-demo-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'trains the three models, prints the table, writes the pictures and exits by itself',
    async () => {
      // With kernel threads started by default (no NM_THREADS), as `npm run demo` runs.
      const env = { ...process.env };
      delete env.NM_THREADS;
      const { code, out: text } = await exitOf(['--import', 'tsx', join(ROOT, 'examples/demo.ts'), '--epochs', '2', '--out', out], ROOT, EXIT_LIMIT_MS, env);
      expect(code, `exit code (null: still running after ${EXIT_LIMIT_MS} ms, killed)\n${text}`).toBe(0);
      // 1797 digits rows, a stratified 0.8 / 0.2 split.
      expect(text).toMatch(/digits: 1438 train \/ 359 test samples, 64 features/);
      const rows = text.split('\n').filter((l) => /^\| (NeuralModule|Dense)/.test(l));
      expect(rows.map((r) => r.split('|')[1].trim())).toEqual([
        'NeuralModule(p=100, ρ=0.05)',
        'NeuralModule(p=100, ρ=0.05) + structure recipe',
        'Dense(100, tanh) MLP',
      ]);
      for (const r of rows) expect(Number(r.split('|')[2])).toBeGreaterThan(0.1); // test accuracy above chance (10 classes)
      // Both layers keep K = ⌈0.05 · 100 · 99⌉ = 495 edges.
      expect(text.match(/kept edges 495;/g)).toHaveLength(2);
      const svg = readFileSync(join(out, 'modules.svg'), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      const png = readFileSync(join(out, 'modules.png'));
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    },
    EXIT_LIMIT_MS + 30_000,
  );
});

/**
 * bench/ as its own package with its raw results: the trial store reads a gzipped
 * `trials.jsonl.gz` then `trials.jsonl` and appends to the latter; the published tables in
 * docs/results are rebuilt from the moved stores (bench/results) with `--tables`; the
 * `+dirty` provenance ignores bench/results; bench/ reaches src/ only through the package
 * name and the internal entry, which the package does not export.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../bench/uci/cli.js';
import { codeDirty } from '../bench/uci/provenance.js';
import { TRIALS_FILE, TRIALS_FILE_GZ, TrialStore, type TrialRecord } from '../bench/uci/store.js';
import { relativeLinks, resolveLink } from './helpers/doc_links.js';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'nm-bench-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (key: string, testError: number) => ({ key, testError }) as unknown as TrialRecord;
const lines = (rs: TrialRecord[]) => rs.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('TrialStore with a gzipped store', () => {
  it('reads trials.jsonl.gz, then trials.jsonl (a later line replaces an earlier one), and appends to trials.jsonl', () => {
    const out = join(dir, 'gz');
    mkdirSync(out);
    writeFileSync(join(out, TRIALS_FILE_GZ), gzipSync(lines([record('a', 0.1), record('b', 0.2)])));
    writeFileSync(join(out, TRIALS_FILE), lines([record('b', 0.25), record('c', 0.3)]));
    const store = new TrialStore(out);
    expect(store.skippedLines).toBe(0);
    expect(
      store
        .all()
        .map((r) => [r.key, r.testError])
        .sort(),
    ).toEqual([
      ['a', 0.1],
      ['b', 0.25],
      ['c', 0.3],
    ]);
    store.append(record('d', 0.4));
    expect(readFileSync(join(out, TRIALS_FILE), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(new TrialStore(out).all().map((r) => r.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reads a gzipped store alone and creates no trials.jsonl', () => {
    const out = join(dir, 'gz-only');
    mkdirSync(out);
    writeFileSync(join(out, TRIALS_FILE_GZ), gzipSync(lines([record('a', 0.1)])));
    expect(new TrialStore(out).get('a')?.testError).toBe(0.1);
    expect(readdirSync(out)).toEqual([TRIALS_FILE_GZ]);
  });

  it('holds every trial of the moved uci16 store that its published tables count', () => {
    const published = readFileSync(join(ROOT, 'docs/results/uci16/tables.md'), 'utf8').match(/(\d+) trials \(/);
    expect(published?.[1]).toBe('2100');
    expect(new TrialStore(join(ROOT, 'bench/results/uci16')).all()).toHaveLength(2100);
  });
});

describe('the published tables from the moved store', () => {
  it('--report-only --tables rebuilds docs/results/uci16-paper/tables.md from bench/results/uci16-paper/trials.jsonl.gz', async () => {
    const published = readFileSync(join(ROOT, 'docs/results/uci16-paper/tables.md'), 'utf8');
    // The flags of the published run, from its header (without --out, --tables, --data and --report-only).
    const command = published.split('\n')[2].match(/`npm run bench:uci -- ([^`]*)`/)![1];
    const withValue = ['--out', '--tables', '--data'];
    const flags = command.split(' ').filter((a, i, all) => ![...withValue, '--report-only'].includes(a) && !withValue.includes(all[i - 1]));
    const tables = join(dir, 'uci16-paper');
    const code = await main([...flags, '--out', join(ROOT, 'bench/results/uci16-paper'), '--tables', tables, '--report-only'], () => {});
    expect(code).toBe(0);
    const body = (md: string) => md.split('\n').slice(3).join('\n');
    expect(body(readFileSync(join(tables, 'tables.md'), 'utf8'))).toBe(body(published));
    expect(readdirSync(join(tables, 'plots')).sort()).toEqual(['error_digits.png', 'error_digits.svg', 'error_vehicle.png', 'error_vehicle.svg']);
  });
});

describe('provenance', () => {
  it('+dirty: changes under src/ or bench/ count, trials written to bench/results/ do not', () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    mkdirSync(join(repo, 'bench/results/uci'), { recursive: true });
    writeFileSync(join(repo, 'src/a.ts'), 'export const a = 1;\n');
    writeFileSync(join(repo, 'bench/b.ts'), 'export const b = 1;\n');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'init');
    expect(codeDirty(repo)).toBe(false);
    writeFileSync(join(repo, 'bench/results/uci/trials.jsonl'), '{"key":"a"}\n');
    expect(codeDirty(repo)).toBe(false);
    writeFileSync(join(repo, 'bench/b.ts'), 'export const b = 2;\n');
    expect(codeDirty(repo)).toBe(true);
  });
});

describe('bench/ imports the package, not its sources', () => {
  const benchFiles = (readdirSync(join(ROOT, 'bench'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.startsWith('results'));

  it('no bench file names a path into src/; internals come from tfjs-neural-modules/internal only', () => {
    expect(benchFiles.length).toBeGreaterThan(30);
    const offending: string[] = [];
    const specifiers = new Set<string>();
    for (const f of benchFiles) {
      const code = readFileSync(join(ROOT, 'bench', f), 'utf8');
      for (const m of code.matchAll(/(?:\bfrom|\bimport\s*\(|^\s*import)\s*['"]([^'"]+)['"]/gm)) {
        if (/(^|\/)src(\/|$)/.test(m[1])) offending.push(`bench/${f}: ${m[1]}`);
        if (m[1].startsWith('tfjs-neural-modules')) specifiers.add(m[1]);
      }
    }
    expect(offending).toEqual([]);
    expect([...specifiers].sort()).toEqual(['tfjs-neural-modules', 'tfjs-neural-modules/internal']);
  });

  it('the internal entry is not public: not reachable from the entries, not in the package exports or files', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports)).not.toContain('./internal');
    expect(pkg.files.some((f: string) => f.startsWith('bench') || f.startsWith('docs/results'))).toBe(false);
    for (const entry of ['src/index.ts', 'src/node.ts']) expect(readFileSync(join(ROOT, entry), 'utf8')).not.toMatch(/internal\.js/);
  });
});

describe('links to the results', () => {
  const GITHUB = /https:\/\/github\.com\/tfjs-neural-modules\/tfjs-neural-modules\/(?:blob|tree)\/main\/([^)#\s]+)/g;
  const docs = [
    'README.md',
    'CHANGELOG.md',
    'bench/uci/README.md',
    ...(readdirSync(join(ROOT, 'docs'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.md') && !f.startsWith('api') && !f.startsWith('results'))
      .map((f) => `docs/${f}`),
  ];

  it('every link of the docs into results/ (relative, or to this repository on GitHub) names a file or folder that exists', () => {
    const missing: string[] = [];
    for (const doc of docs) {
      const md = readFileSync(join(ROOT, doc), 'utf8');
      const targets = [...relativeLinks(md).map((l) => resolveLink(doc, l)), ...[...md.matchAll(GITHUB)].map((m) => decodeURI(m[1]))];
      for (const t of targets) if (t.includes('results') && !existsSync(join(ROOT, t))) missing.push(`${doc}: ${t}`);
    }
    expect(missing).toEqual([]);
  });
});

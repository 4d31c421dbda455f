/**
 * `bench:uci --compact` (TrialStore.compact): the plain trials.jsonl folded into
 * trials.jsonl.gz, nothing lost when a grid appends meanwhile.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../bench/uci/cli.js';
import { RETIME_FILE } from '../bench/uci/retime.js';
import { TRIALS_FILE, TrialStore, type TrialRecord } from '../bench/uci/store.js';

const rec = (key: string, testError: number) => ({ key, testError }) as unknown as TrialRecord;
const lines = (rs: TrialRecord[]) => rs.map((r) => `${JSON.stringify(r)}\n`).join('');
const gzRecords = (path: string) =>
  gunzipSync(readFileSync(path))
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; testError: number });

describe('TrialStore.compact', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nm-compact-'));
    writeFileSync(join(dir, `${TRIALS_FILE}.gz`), gzipSync(lines([rec('a', 0.5), rec('b', 0.4)])));
    // The plain file replaces a, adds c, and ends in a line torn by a crash.
    writeFileSync(join(dir, TRIALS_FILE), `${lines([rec('a', 0.1), rec('c', 0.3)])}{"key":"d","te`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('folds the plain file into the gzipped one (a later line replacing an earlier one) and removes it', () => {
    const store = new TrialStore(dir);
    expect(store.compact()).toEqual({ records: 3, folded: 2, plainKept: false });
    expect(existsSync(join(dir, TRIALS_FILE))).toBe(false);
    expect(gzRecords(join(dir, `${TRIALS_FILE}.gz`))).toEqual([
      { key: 'a', testError: 0.1 },
      { key: 'b', testError: 0.4 },
      { key: 'c', testError: 0.3 },
    ]);
    expect(readdirSync(dir).sort()).toEqual([`${TRIALS_FILE}.gz`]); // no temporary file left behind
    const again = new TrialStore(dir);
    expect(again.all().map((r) => [r.key, r.testError])).toEqual([
      ['a', 0.1],
      ['b', 0.4],
      ['c', 0.3],
    ]);
    // Nothing left to fold: the gzipped file is not rewritten.
    const before = readFileSync(join(dir, `${TRIALS_FILE}.gz`));
    expect(again.compact()).toEqual({ records: 3, folded: 0, plainKept: false });
    expect(readFileSync(join(dir, `${TRIALS_FILE}.gz`)).equals(before)).toBe(true);
  });

  it('keeps the plain file when a grid appended to it after the store was loaded', () => {
    const store = new TrialStore(dir);
    appendFileSync(join(dir, TRIALS_FILE), lines([rec('e', 0.2)]));
    expect(store.compact()).toEqual({ records: 3, folded: 3, plainKept: true });
    expect(new TrialStore(dir).all().map((r) => r.key)).toEqual(['a', 'b', 'c', 'e']);
    expect(new TrialStore(dir).compact()).toEqual({ records: 4, folded: 3, plainKept: false });
    expect(gzRecords(join(dir, `${TRIALS_FILE}.gz`)).map((r) => r.key)).toEqual(['a', 'b', 'c', 'e']);
  });

  it('`--compact` folds trials.jsonl and retime.jsonl of --out and trains nothing', async () => {
    writeFileSync(join(dir, RETIME_FILE), lines([rec('a', 0.1)]));
    const printed: string[] = [];
    expect(await main(['--protocol', 'v3', '--compact', '--out', dir], (s) => printed.push(s))).toBe(0);
    expect(printed.join('\n')).toMatch(/2 lines folded into trials\.jsonl\.gz \(3 records\); trials\.jsonl removed/);
    expect(printed.join('\n')).toMatch(/1 line folded into retime\.jsonl\.gz \(1 record\); retime\.jsonl removed/);
    expect(readdirSync(dir).sort()).toEqual([`${RETIME_FILE}.gz`, `${TRIALS_FILE}.gz`]);
  });
});

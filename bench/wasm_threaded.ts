/**
 * Probe of tfjs-backend-wasm's threaded SIMD build in Node, which tfjs itself never picks
 * there (its WASM_HAS_MULTITHREAD_SUPPORT flag is false under IS_NODE, and forcing it fails
 * with ERR_WORKER_PATH: Node's Worker refuses the `blob:` URL that tfjs hands emscripten as
 * the pthread worker). The probe starts the build another way, for measurement only:
 *
 * - it replaces tfjs' `wasm` backend factory with one that calls the emscripten factory of
 *   `wasm-out/tfjs-backend-wasm-threaded-simd.js` (a real file) and wraps the module in
 *   tfjs' exported `BackendWasm`, as tfjs' own init does;
 * - `locateFile` gives the worker as a real file: the package ships the worker only as a JS
 *   string (`wasm-out/…worker.js` exports `wasmWorkerContents`), written here to a
 *   temporary file; `mainScriptUrlOrBlob` is the glue's own path, which the worker
 *   evaluates with `importScripts` (fs.readFileSync + eval);
 * - `instantiateWasm` reports twice the wanted count as the number of logical cores:
 *   backend.cc caps the pool at cores / 2 (1 on a 2-core machine);
 * - XNNPACK's pool threads are pthreads that emscripten `ref()`s while they run: they are
 *   `unref()`ed, or the process never exits.
 *
 *   npx tsx bench/wasm_threaded.ts [--rounds 6] [--reps 7] [--ops NN,TN,NT,TT,adam]   # interleaved st / mt1 / mt2, medians
 *   npx tsx bench/wasm_threaded.ts --check        # answers of each build against float64, and their hashes
 *   npx tsx bench/wasm_threaded.ts --hang-check   # a child without the unref: does it exit by itself?
 *
 * st: tfjs' default build (SIMD, no threads); mt1/mt2: the threaded build with 1 or 2 threads.
 * Each configuration runs in its own child process; rounds alternate the order.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag } from './flags.js';
import { median } from './timing.js';

const require = createRequire(import.meta.url);
const OUT = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
const GLUE = join(OUT, 'tfjs-backend-wasm-threaded-simd.js');

/** The worker source the package ships as a string, written to a temporary .cjs file (removed at exit). */
function workerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tfjs-wasm-pthread-'));
  const file = join(dir, 'worker.cjs');
  const { wasmWorkerContents } = require(join(OUT, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // As tfjs does before making its Blob: the string holds "\n" escapes that became newlines.
  writeFileSync(file, wasmWorkerContents.replace(/\n/g, '\\n'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread: { runningWorkers: Array<{ unref(): void }> };
  tfjs?: unknown;
}

/** Registers the threaded build as tfjs' `wasm` backend, with `threads` XNNPACK threads. */
function useThreadedBuild(threads: number, unref: boolean): void {
  wasm.setThreadsCount(threads);
  const factory = async () => {
    const create = require(GLUE) as (config: object) => Promise<EmscriptenModule>;
    const worker = workerFile();
    const module = await create({
      locateFile: (path: string) => (path.endsWith('.worker.js') ? worker : join(OUT, path)),
      mainScriptUrlOrBlob: GLUE,
      instantiateWasm(info: { env: Record<string, unknown> }, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
        info.env.emscripten_num_logical_cores = () => 2 * threads;
        void WebAssembly.instantiate(readFileSync(join(OUT, 'tfjs-backend-wasm-threaded-simd.wasm')), info as WebAssembly.Imports).then((r) =>
          receive(r.instance, r.module),
        );
        return {};
      },
    });
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    const backend = new wasm.BackendWasm(module as never);
    if (unref) for (const w of module.PThread.runningWorkers) w.unref();
    return backend;
  };
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, 2);
}

async function start(mode: string, unref = true): Promise<void> {
  if (mode !== 'st') useThreadedBuild(Number(mode.slice(2)), unref);
  if (!(await tf.setBackend('wasm'))) throw new Error(`${mode}: the wasm backend did not initialise`);
}

const sha = (a: Float32Array) =>
  createHash('sha1')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex')
    .slice(0, 12);

/** Child: medians (ms) of tfjs' own ops on this build. */
async function timeOps(mode: string, reps: number, ops: string[]): Promise<Record<string, number | string>> {
  await start(mode);
  const a = tf.randomNormal([3000, 128], 0, 1, 'float32', 1);
  const b = tf.randomNormal([128, 3000], 0, 1, 'float32', 2);
  const [aT, bT] = [tf.transpose(a), tf.transpose(b)];
  const v = tf.variable(tf.randomNormal([3000, 3000], 0, 0.01, 'float32', 3));
  const g = tf.randomNormal([3000, 3000], 0, 0.01, 'float32', 4);
  const opt = tf.train.adam(1e-3);
  const cases: Record<string, () => tf.Tensor | null> = {
    NN: () => tf.matMul(a, b),
    TN: () => tf.matMul(aT, b, true, false),
    NT: () => tf.matMul(a, bT, false, true),
    TT: () => tf.matMul(aT, bT, true, true),
    adam: () => (opt.applyGradients([{ name: v.name, tensor: g }]), null),
  };
  const out: Record<string, number | string> = { mode, threads: wasm.getThreadsCount() };
  for (const op of ops) {
    // The transposed forms take ~1.5 s each: fewer repetitions.
    const n = op === 'NN' || op === 'adam' ? reps : Math.min(reps, 3);
    const ts: number[] = [];
    for (let i = 0; i <= n; i++) {
      const t0 = performance.now();
      const r = cases[op]();
      const t = performance.now() - t0;
      r?.dispose();
      if (i > 0) ts.push(t);
    }
    out[op] = +median(ts).toFixed(1);
  }
  tf.dispose([a, b, aT, bT, v, g]);
  opt.dispose();
  return out;
}

/** Child: each build's answers against float64 (matMul NN/TN/NT, two Adam steps), with hashes. */
async function check(mode: string): Promise<Record<string, string | number>> {
  await start(mode);
  const [M, K, N] = [3000, 128, 3000];
  const a = tf.randomNormal([M, K], 0, 1, 'float32', 1);
  const b = tf.randomNormal([K, N], 0, 1, 'float32', 2);
  const [A, B] = [a.dataSync(), b.dataSync()];
  const out: Record<string, string | number> = { mode, threads: wasm.getThreadsCount() };
  const forms: Array<[string, () => tf.Tensor]> = [
    ['NN', () => tf.matMul(a, b)],
    ['TN', () => tf.tidy(() => tf.matMul(tf.transpose(a), b, true, false))],
    ['NT', () => tf.tidy(() => tf.matMul(a, tf.transpose(b), false, true))],
  ];
  for (const [name, f] of forms) {
    const c = f();
    const C = c.dataSync() as Float32Array;
    // |C - C64| / Σ|a·b| on every 7th row.
    let worst = 0;
    for (let i = 0; i < M; i += 7) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let sa = 0;
        for (let k = 0; k < K; k++) {
          const t = A[i * K + k] * B[k * N + j];
          s += t;
          sa += Math.abs(t);
        }
        worst = Math.max(worst, Math.abs(C[i * N + j] - s) / sa);
      }
    }
    out[`${name} err`] = worst.toExponential(2);
    out[`${name} sha1`] = sha(C);
    c.dispose();
  }
  const w0 = tf.randomNormal([1000, 1000], 0, 1, 'float32', 3);
  const g = tf.randomNormal([1000, 1000], 0, 1, 'float32', 4);
  const v = tf.variable(w0.clone());
  const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  for (let t = 0; t < 2; t++) opt.applyGradients([{ name: v.name, tensor: g }]);
  const [W, W0, G] = [v.dataSync() as Float32Array, w0.dataSync(), g.dataSync()];
  let worst = 0;
  for (let i = 0; i < W.length; i++) {
    let [m, s, x] = [0, 0, W0[i]];
    for (let t = 1; t <= 2; t++) {
      m = 0.9 * m + 0.1 * G[i];
      s = 0.999 * s + 0.001 * G[i] * G[i];
      x -= (0.01 * (m / (1 - 0.9 ** t))) / (Math.sqrt(s / (1 - 0.999 ** t)) + 1e-7);
    }
    worst = Math.max(worst, Math.abs(W[i] - x));
  }
  out['adam err'] = worst.toExponential(2);
  out['adam sha1'] = sha(W);
  tf.dispose([a, b, w0, g, v]);
  opt.dispose();
  return out;
}

const self = fileURLToPath(import.meta.url);
const child = (args: string[]) =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8', timeout: 600_000 })
      .trim()
      .split('\n')
      .pop()!,
  );

const childMode = flag('child', '');
if (childMode !== '') {
  const what = flag('what', 'time');
  const ops = flag('ops', 'NN,TN,NT,TT,adam').split(',');
  if (what === 'hang') {
    await start(childMode, false);
    tf.dispose(tf.matMul(tf.ones([300, 300]), tf.ones([300, 300])));
    console.log(JSON.stringify({ mode: childMode, unref: false, done: true }));
  } else {
    console.log(JSON.stringify(what === 'check' ? await check(childMode) : await timeOps(childMode, Number(flag('reps', '7')), ops)));
  }
} else {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  console.log(`tfjs-backend-wasm ${wasm.version_wasm}, Node ${process.version}, commit ${commit}`);
  if (process.argv.includes('--check')) {
    for (const m of ['st', 'mt1', 'mt2']) console.log(JSON.stringify(child(['--child', m, '--what', 'check'])));
  } else if (process.argv.includes('--hang-check')) {
    // Without the unref, XNNPACK's running pool thread holds the event loop open.
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', 'mt2', '--what', 'hang'], { encoding: 'utf8', timeout: 20_000 });
    console.log(
      `mt2 without unref: ${r.stdout.trim()} ${r.error ? `still running after 20 s (${(r.error as NodeJS.ErrnoException).code})` : `exited, status ${r.status}`}`,
    );
  } else {
    const rounds = Number(flag('rounds', '6'));
    const modes = ['st', 'mt1', 'mt2'];
    const runs: Record<string, Array<Record<string, number>>> = { st: [], mt1: [], mt2: [] };
    const args = ['--reps', flag('reps', '7'), '--ops', flag('ops', 'NN,TN,NT,TT,adam')];
    for (let r = 0; r < rounds; r++) {
      for (const m of r % 2 ? [...modes].reverse() : modes) {
        const o = child(['--child', m, ...args]);
        runs[m].push(o);
        console.log(`round ${r + 1} load ${loadavg()[0].toFixed(2)} ${JSON.stringify(o)}`);
      }
    }
    const ops = Object.keys(runs.st[0]).filter((k) => k !== 'mode' && k !== 'threads');
    console.log(
      `\nmedian ms over ${rounds} rounds (load average now ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
    );
    console.log(`| op | st | mt1 | mt2 | mt2 / st |\n|---|---|---|---|---|`);
    for (const op of ops) {
      const [s, m1, m2] = modes.map((m) => median(runs[m].map((o) => o[op])));
      console.log(`| ${op} | ${s} | ${m1} | ${m2} | ${(m2 / s).toFixed(2)} |`);
    }
  }
}

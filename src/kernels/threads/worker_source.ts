/**
 * The source of a kernel thread, as one self-contained script: it runs as a Node
 * `worker_threads` Worker (`eval: true`, CommonJS) and as a Web Worker (from a Blob
 * URL), so that every build of the package (ESM, CommonJS, the script-tag bundle)
 * can start it without a separate file to locate.
 *
 * The worker instantiates the shared-memory kernel modules over each memory it is
 * attached to (and drops them when detached), then loops: wait for a command, claim
 * and run chunks until none is left (protocol.ts), wait again. A Node worker whose
 * thread ends before it was told to stop (`process.exit`, an uncaught error) says so
 * in the command block on its way out (`SLOT.LOST`), because the caller may be
 * blocked in Atomics waiting for it and cannot see the 'exit' event until it returns.
 *
 * Caveat: a detached memory is freed when the worker's heap is next collected. In Node
 * the worker collects at once; a browser collects a worker's heap when it decides to.
 */
import { ARGS_BYTE_OFFSET, claimable, CONTROL, KERNEL_EXPORTS, MAX_ARGS, POLLS_PER_CLOCK, SLOT, SPIN_MS } from './protocol.js';

/**
 * The worker's script.
 *
 * @example
 * host.startWorker(kernelWorkerSource());
 */
export function kernelWorkerSource(): string {
  return `'use strict';
const wt = typeof require === 'function' ? require('worker_threads') : null;
const listen = (fn) => (wt ? wt.parentPort.on('message', fn) : (self.onmessage = (e) => fn(e.data)));
const reply = (m) => (wt ? wt.parentPort.postMessage(m) : self.postMessage(m));
const NAMES = ${JSON.stringify(KERNEL_EXPORTS)};
${claimable.toString()}
const S = ${JSON.stringify(SLOT)};
let I = null, F = null, seen = 0, stopping = false;
if (wt) process.on('exit', (code) => {
  if (I === null || stopping) return;
  Atomics.store(I, S.LOST_CODE, code);
  Atomics.store(I, S.LOST, 1);
});
const instances = [];
const args = [];
let collect;
/**
 * A full garbage collection of this worker (Node; null in a browser), so that a memory
 * it was detached from is freed now: nothing in this thread allocates enough to start
 * one. Made on the first detach: \`gc\` when the process runs with --expose-gc, else
 * taken from a fresh context with that flag set only while the context is made.
 */
function collector() {
  if (collect !== undefined) return collect;
  collect = null;
  if (!wt) return collect;
  if (typeof gc === 'function') return (collect = gc);
  try {
    const v8 = require('v8');
    v8.setFlagsFromString('--expose-gc');
    try {
      collect = require('vm').runInNewContext('gc');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  } catch (e) {
    collect = null;
  }
  return collect;
}
function loop() {
  for (;;) {
    let s = Atomics.load(I, S.SEQ), polls = 0, t0 = -1;
    while (s === seen) {
      if (++polls === ${POLLS_PER_CLOCK}) {
        polls = 0;
        const now = performance.now();
        if (t0 < 0) t0 = now;
        else if (now - t0 > ${SPIN_MS}) { Atomics.wait(I, S.SEQ, seen); t0 = -1; }
      }
      s = Atomics.load(I, S.SEQ);
    }
    seen = s;
    const fn = I[S.FN];
    if (fn < 0) { Atomics.add(I, S.ACKS, 1); Atomics.notify(I, S.ACKS); return fn; }
    const gen = s & 0x7ffff;
    for (;;) {
      const w = Atomics.load(I, S.CLAIM);
      const c = claimable(w, gen);
      if (c < 0) break;
      if (Atomics.compareExchange(I, S.CLAIM, w, w + 1) !== w) continue;
      const n = I[S.NARGS], base = c * ${MAX_ARGS};
      args.length = n;
      for (let i = 0; i < n; i++) args[i] = F[base + i];
      try {
        instances[I[S.INSTANCE]][I[S.FN]].apply(null, args);
      } catch (e) {
        Atomics.compareExchange(I, S.ERROR, 0, c + 1);
      }
      Atomics.or(I, S.DONE, 1 << c);
      Atomics.add(I, S.FINISHED, 1);
    }
  }
}
listen((m) => {
  if (m.type === 'init') {
    I = new Int32Array(m.ctrl);
    F = new Float64Array(m.ctrl, ${ARGS_BYTE_OFFSET});
    seen = Atomics.load(I, S.SEQ);
    Atomics.add(I, S.READY, 1);
    reply({ type: 'ready' });
  } else if (m.type === 'attach') {
    const all = {};
    for (const mod of m.modules) Object.assign(all, new WebAssembly.Instance(mod, { env: { memory: m.memory } }).exports);
    instances[m.id] = NAMES.map((name) => all[name]);
    Atomics.add(I, S.ATTACHED, 1);
    Atomics.notify(I, S.ATTACHED);
  } else if (m.type === 'detach') {
    // Drops the instances, the worker's only reference to that memory; the caller goes on
    // while this worker collects them (about 10 ms, during which the caller takes its chunks).
    delete instances[m.id];
    Atomics.add(I, S.DETACHED, 1);
    Atomics.notify(I, S.DETACHED);
    const gcNow = collector();
    if (gcNow !== null) gcNow();
  }
  if (loop() === ${CONTROL.STOP}) {
    stopping = true;
    if (wt) wt.parentPort.close(); else self.close();
  }
});
`;
}

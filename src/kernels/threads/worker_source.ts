/**
 * The source of a kernel thread, as one self-contained script: it runs as a Node
 * `worker_threads` Worker (`eval: true`, CommonJS) and as a Web Worker (from a Blob
 * URL), so that every build of the package (ESM, CommonJS, the script-tag bundle)
 * can start it without a separate file to locate.
 *
 * The worker instantiates the shared-memory kernel modules over each memory it is
 * attached to, then loops: wait for a command, claim and run chunks until none is
 * left (protocol.ts), wait again.
 */
import { ARGS_BYTE_OFFSET, CONTROL, KERNEL_EXPORTS, MAX_ARGS, POLLS_PER_CLOCK, SLOT, SPIN_MS } from './protocol.js';

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
const S = ${JSON.stringify(SLOT)};
let I = null, F = null, seen = 0;
const instances = [];
const args = [];
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
    const gen = s & 0x7fffff;
    for (;;) {
      const w = Atomics.load(I, S.CLAIM);
      const c = w & 255;
      if (w >>> 8 !== gen || c >= Atomics.load(I, S.NCHUNKS)) break;
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
    reply({ type: 'ready' });
  } else if (m.type === 'attach') {
    const all = {};
    for (const mod of m.modules) Object.assign(all, new WebAssembly.Instance(mod, { env: { memory: m.memory } }).exports);
    instances[m.id] = NAMES.map((name) => all[name]);
    Atomics.add(I, S.ATTACHED, 1);
    Atomics.notify(I, S.ATTACHED);
  }
  if (loop() === ${CONTROL.STOP}) { if (wt) wt.parentPort.close(); else self.close(); }
});
`;
}

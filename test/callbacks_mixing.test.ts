/**
 * nm.callbacks.* in any position of a `callbacks` array, next to plain objects,
 * tf.CustomCallback instances, tfvis-style async objects and tfjs' own callbacks, with
 * model.fit and model.fitDataset (issue #13). Every case runs a real tiny fit and
 * checks that BOTH our callback acted and the user's callback ran.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';

const EPOCHS = 2;
const N_IN = 3;

/** What one of our callbacks is, and how to tell it acted. */
interface Ours {
  name: string;
  make(): unknown;
  /** Asserts on the history / the callback after a fit of `epochs` epochs. */
  acted(h: tf.History, cb: unknown, ctx: { partitions: number; lines: string[]; epochs: number; requested: number }): void;
}

let lines: string[] = [];

const OURS: Ours[] = [
  {
    name: 'modulePartition',
    make: () => nm.callbacks.modulePartition(),
    acted: (h, _cb, { partitions, epochs }) => {
      expect(h.history.nm_modules, 'nm_modules in history').toHaveLength(epochs);
      expect(partitions, 'partition listener calls').toBeGreaterThanOrEqual(epochs);
    },
  },
  {
    name: 'nmAlphaSchedule',
    make: () => nm.callbacks.nmAlphaSchedule({ targetSize: 1 }),
    acted: (h, _cb, { epochs }) => {
      expect(h.history.nm_alpha_mean, 'nm_alpha_mean in history').toHaveLength(epochs);
    },
  },
  {
    name: 'structureLogger',
    make: () => nm.callbacks.structureLogger(),
    acted: (h, cb, { epochs }) => {
      expect(h.history.nm_balance, 'nm_balance in history').toHaveLength(epochs);
      expect((cb as nm.callbacks.StructureLoggerCallback).records.map((r) => r.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
    },
  },
  {
    name: 'progress',
    make: () => nm.callbacks.progress({ write: (t) => lines.push(t), inPlace: false, label: 'P' }),
    acted: (_h, _cb, { lines: out, epochs, requested }) => {
      // One line per epoch run, and it knew the requested epoch count (params reached it).
      expect(out).toHaveLength(epochs);
      expect(out[epochs - 1]).toMatch(new RegExp(`^P epoch ${epochs}/${requested} `));
    },
  },
];

/** A user's callback, and how to tell it ran. */
interface Theirs {
  name: string;
  make(): { cb: unknown; ran(h: tf.History): void };
  /** Epochs to ask for (earlyStopping stops early on purpose). */
  epochs: number;
}

const THEIRS: Theirs[] = [
  {
    name: 'plain {onEpochEnd}',
    epochs: EPOCHS,
    make: () => {
      const seen: number[] = [];
      return { cb: { onEpochEnd: (epoch: number) => void seen.push(epoch) }, ran: () => expect(seen).toEqual([0, 1]) };
    },
  },
  {
    name: 'tfvis-style async {onEpochEnd, onBatchEnd}',
    epochs: EPOCHS,
    make: () => {
      let epochs = 0;
      let batches = 0;
      const cb = {
        onEpochEnd: async (_e: number, logs?: tf.Logs) => {
          await new Promise((r) => setTimeout(r, 1));
          expect(typeof logs?.loss).toBe('number');
          epochs++;
        },
        onBatchEnd: async () => {
          await Promise.resolve();
          batches++;
        },
      };
      return { cb, ran: () => (expect(epochs).toBe(2), expect(batches).toBe(4)) };
    },
  },
  {
    name: 'new tf.CustomCallback',
    epochs: EPOCHS,
    make: () => {
      let begun = 0;
      let ended = 0;
      const cb = new tf.CustomCallback({ onTrainBegin: async () => void begun++, onEpochEnd: async () => void ended++ });
      return { cb, ran: () => (expect(begun).toBe(1), expect(ended).toBe(2)) };
    },
  },
  {
    name: 'tf.callbacks.earlyStopping',
    epochs: 5,
    make: () => {
      // Any change counts as no improvement: it stops after the second epoch.
      const cb = tf.callbacks.earlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 0 });
      return { cb, ran: (h) => expect(h.epoch).toEqual([0, 1]) };
    },
  },
];

function tinyModel() {
  const layer = nm.layers.neuralModule({
    inputShape: [N_IN],
    units: 6,
    density: 0.4,
    graphRegularizer: nm.regularizers.nm({ alpha: 1e-3 }),
    solver: { method: 'picard', tol: 1e-4, maxIter: 30 },
  });
  const m = tf.sequential();
  m.add(layer);
  m.add(tf.layers.dense({ units: 1 }));
  m.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  let partitions = 0;
  return { m, layer, partitionCount: () => partitions, listen: () => layer.addPartitionListener(() => void partitions++) };
}

let x: tf.Tensor2D;
let y: tf.Tensor2D;

async function run(mode: 'fit' | 'fitDataset', callbacks: unknown[], epochs: number) {
  const { m, listen, partitionCount } = tinyModel();
  // Build first so the partition listener can be attached before training.
  m.predict(x.slice(0, 1));
  listen();
  const before = partitionCount();
  lines = [];
  const h =
    mode === 'fit'
      ? await m.fit(x, y, { epochs, batchSize: 8, verbose: 0, callbacks: callbacks as tf.CustomCallbackArgs[] })
      : await m.fitDataset(tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(tf.unstack(y)) }).batch(8), {
          epochs,
          verbose: 0,
          callbacks: callbacks as tf.CustomCallbackArgs[],
        });
  return { h, partitions: partitionCount() - before };
}

describe('nm.callbacks mixed with other callbacks', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    x = tf.randomUniform([16, N_IN], -1, 1, 'float32', 1);
    y = tf.randomUniform([16, 1], -1, 1, 'float32', 2);
  });
  afterAll(() => tf.disposeVariables());

  for (const mode of ['fit', 'fitDataset'] as const) {
    for (const ours of OURS) {
      it(`${mode}: ${ours.name} alone`, async () => {
        const cb = ours.make();
        const { h, partitions } = await run(mode, [cb], EPOCHS);
        ours.acted(h, cb, { partitions, lines, epochs: EPOCHS, requested: EPOCHS });
      });
      for (const theirs of THEIRS) {
        for (const order of ['ours first', 'ours last'] as const) {
          it(`${mode}: ${ours.name} + ${theirs.name}, ${order}`, async () => {
            const cb = ours.make();
            const user = theirs.make();
            const list = order === 'ours first' ? [cb, user.cb] : [user.cb, cb];
            const { h, partitions } = await run(mode, list, theirs.epochs);
            const epochs = h.epoch.length;
            ours.acted(h, cb, { partitions, lines, epochs, requested: theirs.epochs });
            user.ran(h);
          });
        }
      }
      it(`${mode}: ${ours.name} between two plain objects and a second nm callback`, async () => {
        const cb = ours.make();
        const seen: string[] = [];
        const list = [{ onTrainBegin: () => void seen.push('a') }, cb, nm.callbacks.modulePartition(), { onTrainEnd: () => void seen.push('b') }];
        const { h, partitions } = await run(mode, list, EPOCHS);
        ours.acted(h, cb, { partitions, lines, epochs: EPOCHS, requested: EPOCHS });
        expect(h.history.nm_modules).toHaveLength(EPOCHS);
        expect(seen).toEqual(['a', 'b']);
      });
    }
  }

  for (const mode of ['fit', 'fitDataset'] as const) {
    it(`${mode}: a tfjs callback, a plain object and ours, in every order tfjs allows`, async () => {
      // tfjs callback first: the plain object is wrapped for tfjs (our shim), all three act.
      for (const order of [
        ['stop', 'plain', 'ours'],
        ['stop', 'ours', 'plain'],
        ['ours', 'stop', 'plain'],
        ['ours', 'plain', 'stop'],
      ] as const) {
        const stop = THEIRS[3].make();
        const plain = THEIRS[0].make();
        const ours = nm.callbacks.modulePartition();
        const by = { stop: stop.cb, plain: plain.cb, ours };
        const { h, partitions } = await run(
          mode,
          order.map((k) => by[k]),
          5,
        );
        stop.ran(h);
        plain.ran(h);
        OURS[0].acted(h, ours, { partitions, lines, epochs: 2, requested: 5 });
      }
    });
  }

  it('lists without our callbacks are left to tfjs (a plain object after a tfjs callback still fails there)', async () => {
    nm.callbacks.modulePartition(); // the shim is installed
    const { m } = tinyModel();
    await expect(
      m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [tf.callbacks.earlyStopping({ monitor: 'loss' }), { onEpochEnd: () => {} }] as never }),
    ).rejects.toThrow(/setParams is not a function/);
  });

  it('a callback used by hand without a fit says how to use it', async () => {
    const cb = nm.callbacks.modulePartition();
    await expect(cb.onEpochEnd(0, {})).rejects.toThrow(/modulePartition: could not find the model being trained/);
  });
});

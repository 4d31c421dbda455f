/**
 * Markdown tables shaped like the papers' (neural-modules-v3 Tables 1–3, v4 Table 1):
 * rows = methods, columns = node counts. Test error as mean ± std over seeds (best
 * mean per column in bold), wall time per epoch, time relative to DEQ, and module
 * statistics at the end of training.
 */
import type { CellSummary, Stat } from './aggregate.js';
import type { MethodName } from './config.js';

export interface TableShape {
  datasets: string[];
  methods: MethodName[];
  nodes: number[];
  /** Seeds requested: cells with fewer runs show (n=k). */
  seeds: number;
}

const find = (cells: CellSummary[], d: string, m: string, p: number) => cells.find((c) => c.dataset === d && c.method === m && c.nodes === p);

const pm = (s: Stat, digits: number) => `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;

function grid(cells: CellSummary[], shape: TableShape, dataset: string, cell: (c: CellSummary, nodes: number) => string, rows = shape.methods): string {
  const header = `| Method | ${shape.nodes.map((p) => `${p} nodes`).join(' | ')} |`;
  const sep = `|---|${shape.nodes.map(() => '---|').join('')}`;
  return [
    header,
    sep,
    ...rows.map(
      (m) =>
        `| ${m} | ${shape.nodes
          .map((p) => {
            const c = find(cells, dataset, m, p);
            return c ? cell(c, p) : '–';
          })
          .join(' | ')} |`,
    ),
  ].join('\n');
}

const nNote = (s: Stat, seeds: number) => (s.n < seeds ? ` (n=${s.n})` : '');

/** Test error mean ± std per method × node count; the lowest mean of each column in bold. */
export function errorTable(cells: CellSummary[], shape: TableShape, dataset: string): string {
  const best = new Map<number, number>();
  for (const p of shape.nodes) {
    const means = shape.methods.map((m) => find(cells, dataset, m, p)?.testError.mean).filter((v): v is number => v != null);
    if (means.length) best.set(p, Math.min(...means.map((v) => Number(v.toFixed(4)))));
  }
  return grid(cells, shape, dataset, (c, p) => {
    const text = pm(c.testError, 4);
    const bold = Number(c.testError.mean.toFixed(4)) === best.get(p);
    return `${bold ? `**${text}**` : text}${nNote(c.testError, shape.seeds)}`;
  });
}

/** Median wall time per epoch (seconds), mean ± std over the seeds' selected trials. */
export function timeTable(cells: CellSummary[], shape: TableShape, dataset: string): string {
  return grid(cells, shape, dataset, (c) => pm(c.secondsPerEpoch, 3));
}

/** Time per epoch relative to DEQ (DEQ's time / the method's time: > 1 is faster than DEQ). */
export function speedupTable(cells: CellSummary[], shape: TableShape, dataset: string): string | null {
  if (!shape.methods.includes('DEQ')) return null;
  return grid(cells, shape, dataset, (c, p) => {
    const deq = find(cells, dataset, 'DEQ', p);
    return deq ? `×${(deq.secondsPerEpoch.mean / c.secondsPerEpoch.mean).toFixed(2)}` : '–';
  });
}

/** Module count / largest module / balance / levels / kept edges at the end of training (means over seeds), and runs that ended acyclic. */
export function moduleTable(cells: CellSummary[], shape: TableShape, dataset: string): string | null {
  const rows = shape.methods.filter((m) => m !== 'NN' && m !== 'CFF' && m !== 'OPTNET');
  if (rows.length === 0) return null;
  return grid(
    cells,
    shape,
    dataset,
    (c) => {
      const m = c.modules;
      if (!m) return '–';
      const dag = m.acyclic > 0 ? ` (acyclic ${m.acyclic}/${m.count.n})` : '';
      return `${m.count.mean.toFixed(1)} / ${m.largest.mean.toFixed(1)} / ${m.balance.mean.toFixed(2)} / ${m.levels.mean.toFixed(1)} / ${m.edges.mean.toFixed(0)}${dag}`;
    },
    rows,
  );
}

/** Epochs of the selected trainings, mean, with the number that hit the epoch cap. */
export function epochTable(cells: CellSummary[], shape: TableShape, dataset: string): string {
  return grid(cells, shape, dataset, (c) => `${c.epochs.mean.toFixed(1)}${c.hitCap ? ` (cap ${c.hitCap}/${c.epochs.n})` : ''}`);
}

/** One node count across datasets: rows = methods, columns = datasets, `cell` of each (dataset, method). */
function acrossDatasets(cells: CellSummary[], shape: TableShape, nodes: number, cell: (c: CellSummary) => string, rows = shape.methods): string {
  return [
    `| Method | ${shape.datasets.join(' | ')} |`,
    `|---|${shape.datasets.map(() => '---|').join('')}`,
    ...rows.map((m) => `| ${m} | ${shape.datasets.map((d) => (find(cells, d, m, nodes) ? cell(find(cells, d, m, nodes)!) : '–')).join(' | ')} |`),
  ].join('\n');
}

/** Overview at one node count: test error (%) mean ± std with the best per dataset in bold, and the module structure. */
export function overviewTables(cells: CellSummary[], shape: TableShape, nodes: number): string {
  const best = new Map(shape.datasets.map((d) => [d, Math.min(...shape.methods.map((m) => find(cells, d, m, nodes)?.testError.mean ?? Infinity))]));
  const err = acrossDatasets(cells, shape, nodes, (c) => {
    const t = `${(100 * c.testError.mean).toFixed(2)} ± ${(100 * c.testError.std).toFixed(2)}${nNote(c.testError, shape.seeds)}`;
    return c.testError.mean === best.get(c.dataset) ? `**${t}**` : t;
  });
  const rows = shape.methods.filter((m) => m !== 'NN' && m !== 'CFF' && m !== 'OPTNET');
  const mods = acrossDatasets(
    cells,
    shape,
    nodes,
    (c) => {
      const m = c.modules;
      if (!m) return '–';
      return `${m.largest.mean.toFixed(1)} / ${m.count.mean.toFixed(1)} / ${m.balance.mean.toFixed(2)}${m.acyclic ? ` (acyclic ${m.acyclic}/${m.count.n})` : ''}`;
    },
    rows,
  );
  const epochs = acrossDatasets(cells, shape, nodes, (c) => `${c.epochs.mean.toFixed(0)}${c.hitCap ? ` (cap ${c.hitCap}/${c.epochs.n})` : ''}`);
  return [
    `### Test error, % (mean ± std over seeds; best per dataset in bold), ${nodes} nodes`,
    '',
    err,
    '',
    `### Modules at the end of training, ${nodes} nodes: largest / count / balance (largest ÷ mean size), and runs that ended acyclic`,
    '',
    mods,
    '',
    `### Epochs of the selected training (mean; "cap k/n": k of n hit the epoch cap), ${nodes} nodes`,
    '',
    epochs,
  ].join('\n');
}

/** All tables of all datasets, as one markdown document. */
export function markdownReport(cells: CellSummary[], shape: TableShape, preamble: string[] = []): string {
  const out: string[] = ['# UCI benchmark tables', '', ...preamble];
  if (shape.datasets.length > 1) for (const p of shape.nodes) out.push('', `## All datasets, ${p} nodes`, '', overviewTables(cells, shape, p));
  for (const d of shape.datasets) {
    out.push('', `## ${d}`, '', `### Test error (mean ± std over seeds; best in bold)`, '', errorTable(cells, shape, d));
    out.push('', '### Wall time per epoch, seconds (median epoch of the selected trial; mean ± std over seeds)', '', timeTable(cells, shape, d));
    const sp = speedupTable(cells, shape, d);
    if (sp) out.push('', '### Speed relative to DEQ (DEQ time per epoch ÷ method time per epoch)', '', sp);
    const mt = moduleTable(cells, shape, d);
    if (mt)
      out.push(
        '',
        '### Modules at the end of training: count / largest / balance / levels / kept edges (means; balance = largest ÷ mean module size; "acyclic k/n": k of n runs ended with every module a single node)',
        '',
        mt,
      );
    out.push('', '### Epochs trained (mean over seeds; runs of the selected configuration that hit the epoch cap)', '', epochTable(cells, shape, d));
  }
  return `${out.join('\n')}\n`;
}

/** The fields of a stored trial that {@link structureByStrength} reads. */
export interface StrengthTrial {
  method: MethodName;
  nodes: number;
  config: { density?: number; l1?: number; alpha?: number };
  testError: number | null;
  modules: { count: number; largest: number } | null;
}

/**
 * Module structure per tuning configuration, over every training (not only the
 * selected ones): for each regularized method and strength (λ or α), the mean largest
 * module, the mean balance (largest ÷ mean module size), how many trainings ended
 * acyclic (over all datasets of the report). Shows what the regularizer does to the
 * graph across its whole grid.
 */
export function structureByStrength(trials: StrengthTrial[], methods: MethodName[]): string {
  const rows: string[] = ['| method | strength | trainings | largest module | balance | acyclic |', '|---|---|---|---|---|---|'];
  for (const m of methods) {
    const ts = trials.filter((t) => t.method === m && t.modules != null && t.testError != null);
    const strength = (t: StrengthTrial) => t.config.alpha ?? t.config.l1;
    const levels = Array.from(new Set(ts.map(strength).filter((v): v is number => v != null))).sort((a, b) => a - b);
    for (const level of levels) {
      const g = ts.filter((t) => strength(t) === level);
      const mean = (f: (t: StrengthTrial) => number) => g.reduce((a, t) => a + f(t), 0) / g.length;
      const label = m === 'NMs&NM' || m === 'NMs&NM+sched' ? 'α' : 'λ';
      rows.push(
        `| ${m} | ${label} = ${level} | ${g.length} | ${mean((t) => t.modules!.largest).toFixed(1)} | ${mean((t) => (t.modules!.largest * t.modules!.count) / t.nodes).toFixed(2)} | ${g.filter((t) => t.modules!.largest === 1).length}/${g.length} |`,
      );
    }
  }
  return rows.length > 2 ? rows.join('\n') : '';
}

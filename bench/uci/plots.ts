/**
 * Line charts of the benchmark as data (a {@link ChartSpec}) and as hand-written
 * SVG: test error vs node count per method, and time per epoch vs node count for
 * the NM methods against DEQ (the papers' Figure 3d / Figure 2A).
 */
import type { CellSummary } from './aggregate.js';
import type { MethodName } from './config.js';

export interface ChartPoint {
  x: number;
  y: number;
  /** Error bar ends (mean ± std), optional. */
  lo?: number;
  hi?: number;
}

export interface ChartSeries {
  name: string;
  color: string;
  points: ChartPoint[];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xTicks: number[];
  series: ChartSeries[];
  logY?: boolean;
}

export const METHOD_COLORS: Record<MethodName, string> = {
  NN: '#7f7f7f',
  DEQ: '#d62728',
  DAG: '#9467bd',
  CFF: '#8c564b',
  NMs: '#1f77b4',
  'NMs&L1': '#ff7f0e',
  'NMs&NM': '#2ca02c',
  'NMs&NM+sched': '#17becf',
  'NM-default': '#bcbd22',
  'NM-recipe': '#000000',
  OPTNET: '#e377c2',
};

/** Pixel geometry shared by the SVG and PNG renderers. */
export interface ChartFrame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
  yTicks: number[];
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Scales and ticks of a chart (640 × 400, legend on the right). */
export function chartFrame(spec: ChartSpec, width = 640, height = 400): ChartFrame {
  const left = 70;
  const right = width - 130;
  const top = 40;
  const bottom = height - 50;
  const xs = spec.xTicks.length ? spec.xTicks : [0, 1];
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const pad = (x1 - x0 || 1) * 0.05;
  const sx = (x: number) => left + ((x - (x0 - pad)) / (x1 - x0 + 2 * pad)) * (right - left);
  const ys = spec.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y])).filter((v) => Number.isFinite(v) && (!spec.logY || v > 0));
  let y0 = ys.length ? Math.min(...ys) : 0;
  let y1 = ys.length ? Math.max(...ys) : 1;
  let yTicks: number[];
  let sy: (y: number) => number;
  if (spec.logY) {
    const l0 = Math.floor(Math.log10(y0 || 1e-3));
    const l1 = Math.ceil(Math.log10(y1 || 1));
    const hiExp = l1 === l0 ? l0 + 1 : l1;
    yTicks = [];
    for (let e = l0; e <= hiExp; e++) yTicks.push(10 ** e);
    sy = (y: number) => bottom - ((Math.log10(Math.max(y, 10 ** l0)) - l0) / (hiExp - l0)) * (bottom - top);
  } else {
    const padY = (y1 - y0 || Math.abs(y1) || 1) * 0.08;
    y0 = Math.max(0, y0 - padY);
    y1 += padY;
    yTicks = niceTicks(y0, y1);
    y0 = Math.min(y0, yTicks[0] ?? y0);
    y1 = Math.max(y1, yTicks[yTicks.length - 1] ?? y1);
    sy = (y: number) => bottom - ((y - y0) / (y1 - y0 || 1)) * (bottom - top);
  }
  return { width, height, left, right, top, bottom, sx, sy, yTicks };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (v: number) => v.toFixed(1);
export const tickLabel = (v: number) => (v >= 1000 || (v > 0 && v < 0.001) ? v.toExponential(0) : String(Number(v.toPrecision(3))));

/** The chart as a standalone SVG document. */
export function renderSvg(spec: ChartSpec): string {
  const F = chartFrame(spec);
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${F.width}" height="${F.height}" viewBox="0 0 ${F.width} ${F.height}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${F.width}" height="${F.height}" fill="#fff"/>`);
  o.push(`<text x="${F.width / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`);
  for (const t of F.yTicks) {
    const y = f1(F.sy(t));
    o.push(`<line x1="${F.left}" y1="${y}" x2="${F.right}" y2="${y}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${F.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`);
  }
  for (const t of spec.xTicks) {
    const x = f1(F.sx(t));
    o.push(`<line x1="${x}" y1="${F.bottom}" x2="${x}" y2="${F.bottom + 5}" stroke="#333"/>`);
    o.push(`<text x="${x}" y="${F.bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  o.push(`<rect x="${F.left}" y="${F.top}" width="${F.right - F.left}" height="${F.bottom - F.top}" fill="none" stroke="#333"/>`);
  o.push(`<text x="${(F.left + F.right) / 2}" y="${F.height - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${(F.top + F.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && (!spec.logY || p.y > 0));
    for (const p of pts) {
      if (p.lo == null || p.hi == null) continue;
      const x = f1(F.sx(p.x));
      o.push(`<line x1="${x}" y1="${f1(F.sy(p.lo))}" x2="${x}" y2="${f1(F.sy(p.hi))}" stroke="${s.color}" stroke-opacity="0.6"/>`);
    }
    if (pts.length > 1)
      o.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${f1(F.sx(p.x))},${f1(F.sy(p.y))}`).join(' ')}"/>`);
    for (const p of pts) o.push(`<circle cx="${f1(F.sx(p.x))}" cy="${f1(F.sy(p.y))}" r="3.5" fill="${s.color}"/>`);
    const ly = F.top + 10 + i * 20;
    o.push(`<line x1="${F.right + 12}" y1="${ly}" x2="${F.right + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    o.push(`<text x="${F.right + 42}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}

/** Test error (mean ± std) vs node count, one series per method. */
export function errorChart(cells: CellSummary[], dataset: string, methods: MethodName[], nodes: number[]): ChartSpec {
  return {
    title: `${dataset}: test error vs hidden nodes`,
    xLabel: 'hidden nodes p',
    yLabel: 'test error',
    xTicks: nodes,
    series: methods.map((m) => ({
      name: m,
      color: METHOD_COLORS[m],
      points: cells
        .filter((c) => c.dataset === dataset && c.method === m)
        .map((c) => ({ x: c.nodes, y: c.testError.mean, lo: c.testError.mean - c.testError.std, hi: c.testError.mean + c.testError.std })),
    })),
  };
}

/** Time per epoch vs node count for DEQ and the NM methods (log scale). */
export function timeChart(cells: CellSummary[], dataset: string, methods: MethodName[], nodes: number[]): ChartSpec {
  const shown = methods.filter((m) => m === 'DEQ' || m.startsWith('NMs'));
  return {
    title: `${dataset}: time per epoch, NM vs DEQ`,
    xLabel: 'hidden nodes p',
    yLabel: 'seconds per epoch (log)',
    xTicks: nodes,
    logY: true,
    series: shown.map((m) => ({
      name: m,
      color: METHOD_COLORS[m],
      points: cells.filter((c) => c.dataset === dataset && c.method === m).map((c) => ({ x: c.nodes, y: c.secondsPerEpoch.mean })),
    })),
  };
}

/**
 * PNG version of a {@link ChartSpec}: the same geometry as the SVG, rasterized
 * into an RGB buffer (lines, markers, grid, a 5-row bitmap font, 3 columns wide except
 * M, N, W, drawn at 2× for the labels; lower case is drawn as upper case) and encoded with the package's PNG
 * encoder (src/analysis/png.ts).
 */
import 'tfjs-neural-modules'; // the Node entry installs zlib deflate, as for Node users
import { encodePng, type RgbImage } from 'tfjs-neural-modules/internal';
import { chartFrame, tickLabel, type ChartSpec } from './plots.js';

type Rgb = [number, number, number];

const GLYPHS: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001010010',
  '8': '111101111101111',
  '9': '111101111001111',
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  F: '111100110100100',
  G: '011100101101011',
  H: '101101111101101',
  I: '111010010010111',
  J: '001001001101010',
  K: '101101110101101',
  L: '100100100100111',
  M: '1000111011101011000110001',
  N: '10011101101110011001',
  O: '010101101101010',
  P: '110101110100100',
  Q: '010101101110011',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '1000110001101011101110001',
  X: '101101010101101',
  Y: '101101010010010',
  Z: '111001010100111',
  '.': '000000000000010',
  ',': '000000000010100',
  '-': '000000111000000',
  '+': '000010111010000',
  '&': '010101010101011',
  '(': '001010010010001',
  ')': '100010010010100',
  ':': '000010000010000',
  '/': '001001010100100',
  '%': '101001010100101',
  '=': '000111000111000',
  '±': '010111010000111',
  '×': '000101010101000',
  ' ': '000000000000000',
};
const SCALE = 2;
/** Columns of a glyph (its bit string has 5 rows). */
const cols = (g: string) => g.length / 5;
const glyph = (ch: string) => GLYPHS[ch] ?? GLYPHS['-'];

const hex = (c: string): Rgb => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];

class Canvas implements RgbImage {
  readonly rgb: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.rgb[i] = c[0];
    this.rgb[i + 1] = c[1];
    this.rgb[i + 2] = c[2];
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    for (let y = Math.round(Math.min(y0, y1)); y <= Math.round(Math.max(y0, y1)); y++) {
      for (let x = Math.round(Math.min(x0, x1)); x <= Math.round(Math.max(x0, x1)); x++) this.set(x, y, c);
    }
  }

  disc(cx: number, cy: number, r: number, c: Rgb): void {
    for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
      for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) if (dx * dx + dy * dy <= r * r) this.set(cx + dx, cy + dy, c);
    }
  }

  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      if (width <= 1) this.set(x, y, c);
      else this.disc(x, y, width / 2, c);
    }
  }

  /** Text with its anchor at (x, y): align 'start' | 'middle' | 'end', vertically centred; `vertical` rotates it 90° counter-clockwise. */
  text(s: string, x: number, y: number, c: Rgb, align: 'start' | 'middle' | 'end' = 'start', vertical = false): void {
    const chars = Array.from(s.toUpperCase()).map(glyph);
    const w = chars.reduce((sum, g) => sum + (cols(g) + 1) * SCALE, 0) - SCALE;
    let pen = align === 'start' ? 0 : align === 'middle' ? -w / 2 : -w;
    chars.forEach((g) => {
      const n = cols(g);
      const start = pen;
      pen += (n + 1) * SCALE;
      for (let r = 0; r < 5; r++) {
        for (let col = 0; col < n; col++) {
          if (g[r * n + col] !== '1') continue;
          for (let a = 0; a < SCALE; a++) {
            for (let b = 0; b < SCALE; b++) {
              const u = start + col * SCALE + a; // along the text
              const v = r * SCALE + b - (5 * SCALE) / 2; // across it
              if (vertical) this.set(x + v, y - u, c);
              else this.set(x + u, y + v, c);
            }
          }
        }
      }
    });
  }
}

/** Rasterizes a chart (same layout as the SVG). */
export function rasterizeChart(spec: ChartSpec): RgbImage {
  const F = chartFrame(spec);
  const cv = new Canvas(F.width, F.height);
  const ink: Rgb = [51, 51, 51];
  cv.text(spec.title, F.width / 2, 20, ink, 'middle');
  for (const t of F.yTicks) {
    const y = F.sy(t);
    cv.line(F.left, y, F.right, y, [229, 229, 229]);
    cv.text(tickLabel(t), F.left - 6, y, ink, 'end');
  }
  for (const t of spec.xTicks) {
    const x = F.sx(t);
    cv.line(x, F.bottom, x, F.bottom + 5, ink);
    cv.text(String(t), x, F.bottom + 16, ink, 'middle');
  }
  cv.line(F.left, F.top, F.right, F.top, ink);
  cv.line(F.left, F.bottom, F.right, F.bottom, ink);
  cv.line(F.left, F.top, F.left, F.bottom, ink);
  cv.line(F.right, F.top, F.right, F.bottom, ink);
  cv.text(spec.xLabel, (F.left + F.right) / 2, F.height - 12, ink, 'middle');
  cv.text(spec.yLabel, 16, (F.top + F.bottom) / 2, ink, 'middle', true);
  spec.series.forEach((s, i) => {
    const c = hex(s.color);
    const pts = s.points.filter((p) => Number.isFinite(p.y) && (!spec.logY || p.y > 0));
    for (const p of pts) if (p.lo != null && p.hi != null) cv.line(F.sx(p.x), F.sy(p.lo), F.sx(p.x), F.sy(p.hi), c);
    for (let k = 1; k < pts.length; k++) cv.line(F.sx(pts[k - 1].x), F.sy(pts[k - 1].y), F.sx(pts[k].x), F.sy(pts[k].y), c, 2);
    for (const p of pts) cv.disc(F.sx(p.x), F.sy(p.y), 3.5, c);
    const ly = F.top + 10 + i * 20;
    cv.line(F.right + 12, ly, F.right + 36, ly, c, 2);
    cv.text(s.name, F.right + 42, ly, ink);
  });
  return cv;
}

/** The chart as PNG bytes. */
export async function renderPng(spec: ChartSpec): Promise<Uint8Array> {
  const img = rasterizeChart(spec);
  return encodePng({ width: img.width, height: img.height, rgb: img.rgb });
}

/**
 * Plain-JavaScript float64 reference of the URN (Golkar, "Emergent Structures ...",
 * eqs. 2–9) and its loss terms, plus central finite differences, for the URN tests.
 * Kernel convention as in the layer: W[j*S + k] is the synapse j → k.
 */
import { f64, type Act } from './reference.js';

export type { Act };
import { closeness } from './close.js';

export type Residual = 'none' | 'output' | 'input';

export interface RefSpec {
  S: number;
  I: number;
  dOut: number;
  activation: Act;
  residual: Residual;
}

export function phi(a: Act, v: number): number {
  return f64[a](v);
}

/** States N⁽⁰⁾ … N⁽ᴵ⁾ per sample, eqs. 3 / 6 / 7. */
export function refStates(x: number[][], W: ArrayLike<number>, b: ArrayLike<number>, s: RefSpec): number[][][] {
  return x.map((u) => {
    const dIn = u.length;
    let n = new Array<number>(s.S).fill(0);
    for (let i = 0; i < dIn; i++) n[i] = u[i];
    const states = [n.slice()];
    for (let l = 0; l < s.I; l++) {
      const next = new Array<number>(s.S).fill(0);
      for (let k = 0; k < s.S; k++) {
        let pre = b[k];
        for (let j = 0; j < s.S; j++) pre += n[j] * W[j * s.S + k];
        let v = phi(s.activation, pre);
        if (s.residual === 'output' && k >= s.S - s.dOut) v += n[k];
        if (s.residual === 'input' && k < dIn) v += u[k];
        next[k] = v;
      }
      n = next;
      states.push(n.slice());
    }
    return states;
  });
}

/** Output = last d_out neurons of N⁽ᴵ⁾, `[batch][d_out]`. */
export function refForward(x: number[][], W: ArrayLike<number>, b: ArrayLike<number>, s: RefSpec): number[][] {
  return refStates(x, W, b, s).map((st) => st[s.I].slice(s.S - s.dOut));
}

/** `Σ_{l=1..I} Σ_i |N_i⁽ˡ⁾|` averaged over the batch (no c_N). */
export function refActivity(x: number[][], W: ArrayLike<number>, b: ArrayLike<number>, s: RefSpec): number {
  let total = 0;
  for (const st of refStates(x, W, b, s)) for (let l = 1; l <= s.I; l++) for (const v of st[l]) total += Math.abs(v);
  return total / x.length;
}

/** Mean squared error over batch and outputs (tfjs' meanSquaredError, batch-averaged). */
export function refMse(y: number[][], t: number[][]): number {
  let s = 0;
  let n = 0;
  y.forEach((row, i) => row.forEach((v, k) => ((s += (v - t[i][k]) ** 2), n++)));
  return s / n;
}

/** Central finite differences of f over every entry of `params` (modified in place, restored). */
export function finiteDiff(f: () => number, params: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(params.length);
  for (let i = 0; i < params.length; i++) {
    const old = params[i];
    params[i] = old + h;
    const fp = f();
    params[i] = old - h;
    const fm = f();
    params[i] = old;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Seeded float64 normal samples (mulberry32 + Box–Muller). */
export function seededNormal(seed: number): () => number {
  let a = seed >>> 0;
  const uni = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uni() + 1e-12)) * Math.cos(2 * Math.PI * uni());
}

/**
 * Largest |a − b| / (atol + rtol·|b|): ≤ 1 means within tolerance. Kept for tests that
 * still use it (test/activations.test.ts on main); new tests use expectClose from ./close.js.
 */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  return closeness(a, b, { atol, rtol }).worstRatio;
}
